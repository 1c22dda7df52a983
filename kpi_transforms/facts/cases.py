"""Complaint cases (SPEC 7, seed 000 "Komplain"), and the rebuild of the conversation facts
(quote responses, cases, follow-ups) that :func:`kpi_transforms.facts.rebuild_facts` calls.

Grain of ``marts.fct_case``: one row per complaint case. In each thread, in thread order:

* a case **opens** at a customer queue whose intent is ``complaint`` when no case of the thread
  is open; complaint queues while a case is open belong to that case;
* its **first response** is the reply of the opening queue (the first human reply after it);
* it is **resolved** at the first of: a human agent message matching ``resolution_phrases``
  (after the opening question), or a customer message matching ``customer_confirmations``
  after the case's first response that is not itself a complaint; both must come within
  30 x 24 h of the opening; a row of ``marts.manual_case_resolution`` wins over both;
* still unresolved 30 x 24 h after opening, it is **closed as unresolved** (``status``
  ``unresolved``); before that, and while the data horizon (the latest message in the warehouse)
  has not reached that point, it is ``open``;
* **category** (kurang | rusak | salah_kirim | telat | lainnya) from the opening queue's text;
* **repeat**: an earlier case of the same customer and category opened at most 30 x 24 h
  before (the immediately previous one is the closest). Cases of one thread are flagged by
  :func:`fct_case`; across threads and channels :func:`refresh_cross_thread_flags` recomputes
  the flag over the whole table with one set-based statement in every ingest's fact build
  (also when no thread is rebuilt); the KPI step only reads it.

Cases live in one thread: a customer who complains on WhatsApp and by e-mail at the same time
has two cases (the second is a repeat when the category is the same).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from kpi_transforms.core.calendar import BusinessCalendar
from kpi_transforms.facts.keywords import Keywords, contains_any, first_category
from kpi_transforms.facts.ordering import CUSTOMER, HUMAN, STRING, bool_mask, epoch_us, utc_column
from kpi_transforms.facts.thread_view import ThreadView, queue_text_array, thread_view

log = logging.getLogger(__name__)

CASE_WINDOW_SECONDS = 30 * 86_400  # unresolved after, and repeat within, 30 x 24 h
CASE_COLUMNS = (
    "case_id",
    "thread_id",
    "customer_id",
    "agent_id",
    "category",
    "opened_at",
    "opened_at_local",
    "first_response_at",
    "first_response_business_seconds",
    "resolved_at",
    "resolution_source",
    "resolution_message_id",
    "resolution_business_seconds",
    "closed_at",
    "status",
    "is_repeat",
    "is_in_closed_period",
)
_NAT = np.iinfo(np.int64).min
_NONE, _AGENT, _CUSTOMER = 0, 1, 2
_FAR_FUTURE = pd.Timestamp("9999-12-31")


def agent_resolves(view: ThreadView, keywords: Keywords, positions: np.ndarray) -> np.ndarray:
    """Bool per sorted position (human agent messages): the text has a resolution phrase."""
    return contains_any(view.text_at(positions), keywords.resolution_phrases)


def customer_confirms(view: ThreadView, keywords: Keywords, positions: np.ndarray) -> np.ndarray:
    """Bool per sorted position (customer messages): the text has a confirmation phrase and
    is not itself a complaint."""
    text = view.text_at(positions)
    confirms = contains_any(text, keywords.customer_confirmations)
    rows = np.flatnonzero(confirms)
    if len(rows):  # the complaint test only for the (few) confirmations
        confirms[rows] = ~contains_any(text.take(pa.array(rows)), keywords.intents.get("complaint", ()),
                                       keywords.exclude.get("complaint", ()))
    return confirms


def resolution_positions(
    view: ThreadView, keywords: Keywords, complaints: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Sorted positions of (human agent messages with a resolution phrase, customer messages
    with a confirmation phrase that are not themselves complaints).

    With ``complaints`` (sorted positions of complaint questions) only messages after the
    first complaint of their thread are classified: no case can be resolved by an earlier one."""
    def candidates(cls: int) -> np.ndarray:
        pos = np.flatnonzero(view.classes == cls)
        if complaints is not None and len(pos):
            pos = pos[view.from_first(pos, complaints, strict=True)]
        return pos

    human, customer = candidates(HUMAN), candidates(CUSTOMER)
    return human[agent_resolves(view, keywords, human)], customer[customer_confirms(view, keywords, customer)]


def case_resolutions(
    view: ThreadView, cpos: np.ndarray, first_reply: np.ndarray, agent_res: np.ndarray, customer_conf: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The heuristic resolution a case would get if it opened at each complaint question
    ``cpos`` (``first_reply``: the reply position of each, -1 if unanswered): (resolving
    message position or -1, source code). The first of ``agent_res`` after the question or
    of ``customer_conf`` after the first reply (see :func:`resolution_positions`),
    whichever comes first, both within 30 x 24 h of the question."""
    cap = view.sent_s[cpos] + CASE_WINDOW_SECONDS
    by_agent = view.next_in(agent_res, cpos)
    by_customer = view.next_in(customer_conf, first_reply)
    for found in (by_agent, by_customer):
        late = found >= 0
        late[late] = view.sent_s[found[late]] > cap[late]
        found[late] = -1
    use_agent = (by_agent >= 0) & ((by_customer < 0) | (by_agent < by_customer))
    use_customer = (by_customer >= 0) & ~use_agent
    resolved_at = np.where(use_agent, by_agent, np.where(use_customer, by_customer, -1))
    return resolved_at, np.where(use_agent, _AGENT, np.where(use_customer, _CUSTOMER, _NONE))


def _case_chain(view: ThreadView, cpos: np.ndarray, resolved_at: np.ndarray) -> np.ndarray:
    """Which complaint queues open a case: indexes into ``cpos`` (sorted positions of the
    complaint questions, ascending), ascending. ``resolved_at``: per complaint queue, the
    position of the message that would resolve a case opened there (-1 none).

    A case opens at a thread's first complaint queue; the next case at the first complaint
    queue after the resolving message, or (unresolved) the first one asked 30 x 24 h or more
    after the opening. That "next opening" depends on the opening queue only, so it is
    computed for every complaint queue at once with NumPy; what is left is following the
    links from each thread's first complaint: one step per case, plain integers."""
    n = len(cpos)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    cthread = view.thread_code[cpos]
    ctime = view.sent_s[cpos]
    base = int(ctime.min())
    ckey = (cthread << 36) | (ctime - base)  # (thread, time) as one sortable key
    cap = ctime + CASE_WINDOW_SECONDS
    after_resolution = np.searchsorted(cpos, resolved_at, side="right")
    after_cap = np.searchsorted(ckey, (cthread << 36) | (cap - base), side="left")
    nxt = np.where(resolved_at >= 0, after_resolution, after_cap)
    # a link always points forward in the same thread (so every walk below ends)
    ok = (nxt < n) & (nxt > np.arange(n))
    ok[ok] = cthread[nxt[ok]] == cthread[ok]
    links = np.where(ok, nxt, -1).tolist()
    opens = np.zeros(n, dtype=bool)
    for i in np.flatnonzero(np.r_[True, cthread[1:] != cthread[:-1]]).tolist():  # each thread's first complaint
        while i >= 0:
            opens[i] = True
            i = links[i]
    return np.flatnonzero(opens)


def repeat_flags(customer_id: pd.Series, category: pd.Series, opened_s: np.ndarray, case_id: pd.Series) -> np.ndarray:
    """True where the previous case of the same customer and category (order: opened_at, then
    case_id) opened at most 30 x 24 h before. Cases without a customer are never repeats."""
    n = len(opened_s)
    if n == 0:
        return np.zeros(0, dtype=bool)
    frame = pd.DataFrame({"c": customer_id.to_numpy(dtype=object), "k": category.to_numpy(dtype=object),
                          "t": opened_s, "id": case_id.to_numpy(dtype=object)})
    frame = frame.sort_values(["c", "k", "t", "id"], kind="stable", na_position="last")
    same = (frame["c"].eq(frame["c"].shift()) & frame["k"].eq(frame["k"].shift()) & frame["c"].notna()).to_numpy()
    gap = frame["t"].to_numpy() - frame["t"].shift(fill_value=0).to_numpy()
    flags = np.zeros(n, dtype=bool)
    flags[frame.index.to_numpy()] = same & (gap <= CASE_WINDOW_SECONDS)
    return flags


def fct_case(
    messages: pd.DataFrame,
    pairs: pd.DataFrame,
    calendar: BusinessCalendar,
    keywords: Keywords,
    *,
    data_horizon: Any = None,
    manual: pd.DataFrame | None = None,
    view: ThreadView | None = None,
) -> pd.DataFrame:
    """One row per complaint case (see the module docstring), from ``pairs`` with ``intent``.
    ``view``: :func:`~kpi_transforms.intents.thread_view` of the same messages and pairs, when
    the caller has it already."""
    pairs = pairs.reset_index(drop=True)
    if len(pairs) == 0 or "intent" not in pairs.columns:
        return _empty()
    complaint = np.flatnonzero(bool_mask(pairs["intent"] == "complaint"))
    if len(complaint) == 0:
        return _empty()
    view = thread_view(messages, pairs) if view is None else view.check(messages, pairs)
    complaint = complaint[view.question_pos[complaint] >= 0]
    complaint = complaint[np.argsort(view.question_pos[complaint], kind="stable")]
    cpos = view.question_pos[complaint]
    agent_res, customer_conf = resolution_positions(view, keywords, cpos)
    resolved_at, sources = case_resolutions(view, cpos, view.reply_pos[complaint], agent_res, customer_conf)
    opening = _case_chain(view, cpos, resolved_at)  # in thread order (ascending cpos)
    res_pos, source = resolved_at[opening], sources[opening]
    rows = complaint[opening]
    case = pairs.iloc[rows].reset_index(drop=True)

    horizon_s = int(view.sent_s.max()) if data_horizon is None else int(epoch_us(pd.Series([pd.Timestamp(data_horizon)]))[0] // 1_000_000)
    opened_s = view.sent_s[cpos[opening]]
    cap = opened_s + CASE_WINDOW_SECONDS
    resolved = res_pos >= 0
    resolved_s = np.where(resolved, view.sent_s[np.maximum(res_pos, 0)], _NAT)
    message_ids = view.column_at("message_id", np.where(resolved, res_pos, -1)).astype(STRING)
    source_text = np.array([None, "agent_phrase", "customer_confirmation"], dtype=object)[source]
    status = np.where(resolved, "resolved", np.where(horizon_s >= cap, "unresolved", "open")).astype(object)
    source_text[status == "unresolved"] = "unresolved"
    closed_s = np.where(resolved, resolved_s, np.where(status == "unresolved", cap, _NAT))

    out = pd.DataFrame(
        {
            "case_id": case["pair_id"].astype(STRING),
            "thread_id": case["thread_id"].astype(STRING),
            "customer_id": case["customer_id"].astype(STRING),
            "agent_id": case["agent_id"].astype(STRING),
            "category": pd.array(first_category(queue_text_array(view, len(pairs), rows), keywords), dtype=STRING),
            "opened_at": case["question_at"],
            "opened_at_local": case["question_at_local"],
            "first_response_at": case["reply_at"],
            "first_response_business_seconds": case["business_seconds"].astype("Int64"),
            "resolved_at_s": resolved_s,
            "resolution_source": pd.array(source_text, dtype=STRING),
            "resolution_message_id": message_ids,
            "closed_at_s": closed_s,
            "status": pd.array(status, dtype=STRING),
            "is_in_closed_period": bool_mask(case["is_in_closed_period"]) if "is_in_closed_period" in case else False,
        }
    )
    if manual is not None and len(manual):
        _apply_manual(out, manual, calendar.timezone, cap)
    resolved_s = out.pop("resolved_at_s").to_numpy(dtype=np.int64)
    closed_s = out.pop("closed_at_s").to_numpy(dtype=np.int64)
    has = resolved_s != _NAT
    business = calendar.business_seconds(opened_s, np.where(has, resolved_s, opened_s))
    out["resolved_at"] = utc_column(np.where(has, resolved_s * 1_000_000, _NAT))
    out["resolution_business_seconds"] = pd.array(np.where(has, business, 0), dtype="Int64")
    out.loc[~has, "resolution_business_seconds"] = pd.NA
    out["closed_at"] = utc_column(np.where(closed_s != _NAT, closed_s * 1_000_000, _NAT))
    out["is_repeat"] = repeat_flags(out["customer_id"], out["category"], opened_s, out["case_id"])
    return out.loc[:, list(CASE_COLUMNS)]


def _parse_local(refs: pd.Series) -> pd.Series:
    """Local date-times written as ``2025-01-13 10:00`` (ISO) or ``13/01/2025 10:00``."""
    iso = pd.to_datetime(refs, format="ISO8601", errors="coerce")
    dmy = pd.to_datetime(refs, format="%d/%m/%Y %H:%M", errors="coerce")
    out = iso.where(iso.notna(), dmy)
    return out.astype("datetime64[us]")


def _apply_manual(cases: pd.DataFrame, manual: pd.DataFrame, timezone: str, cap: np.ndarray) -> None:
    """Rows of ``marts.manual_case_resolution`` win (in place on ``cases``).

    Which case a row means, in its thread: ``case_ref`` = a ``case_id``; else ``case_ref`` read
    as a local date-time = the latest case opened at or before that minute; an empty
    ``case_ref`` = the latest case opened at or before ``resolved_at`` (without a time: the
    thread's latest case). Several rows for one case: the later-loaded file wins."""
    m = manual.reset_index(drop=True).copy()
    m = m[m["thread_id"].isin(set(cases["thread_id"].dropna()))].reset_index(drop=True)
    if m.empty:
        return
    ref = m["case_ref"].astype(object).where(m["case_ref"].notna(), "").astype(str).str.strip()
    resolved = pd.to_datetime(m["resolved_at"], utc=True, errors="coerce") if "resolved_at" in m else pd.Series(pd.NaT, index=m.index)
    if "resolved_at_local" in m:
        local = pd.to_datetime(m["resolved_at_local"], errors="coerce")
        from_local = local.dt.tz_localize(timezone, ambiguous="NaT", nonexistent="shift_forward").dt.tz_convert("UTC")
        resolved = resolved.where(resolved.notna(), from_local)
    resolved = resolved.astype("datetime64[us, UTC]")
    resolved_local = resolved.dt.tz_convert(timezone).dt.tz_localize(None).astype("datetime64[us]")

    index = pd.Series(np.arange(len(cases)), index=pd.MultiIndex.from_arrays(
        [cases["thread_id"].astype(object), cases["case_id"].astype(object)]))
    key = pd.MultiIndex.from_arrays([m["thread_id"].astype(object), ref.astype(object)])
    target = pd.Series(index.reindex(key).to_numpy(), dtype="float64")  # NaN where no case id

    ref_time = _parse_local(ref.where(ref != "", None))
    when = ref_time.where(ref != "", resolved_local)
    when = when.where(~((ref == "") & when.isna()), _FAR_FUTURE).astype("datetime64[us]")
    by_time = target.isna() & when.notna()
    if by_time.any():
        left = pd.DataFrame({"row": np.flatnonzero(by_time), "thread_id": m.loc[by_time, "thread_id"].astype(object).to_numpy(),
                             "when": when[by_time].to_numpy()}).sort_values("when", kind="stable")
        right = pd.DataFrame({"case": np.arange(len(cases)), "thread_id": cases["thread_id"].astype(object).to_numpy(),
                              "when": cases["opened_at_local"].astype("datetime64[us]").dt.floor("min").to_numpy()})
        right = right.sort_values("when", kind="stable")
        matched = pd.merge_asof(left, right, on="when", by="thread_id", direction="backward")
        target.iloc[matched["row"].to_numpy()] = matched["case"].to_numpy(dtype="float64")
    resolution = m["resolution"].astype(object).where(m["resolution"].notna(), "").astype(str).str.strip().str.lower()
    usable = target.notna() & (((resolution == "resolved") & resolved.notna()) | (resolution == "unresolved"))
    if (~usable).any():
        log.warning("%d manual case resolution row(s) name no case or lack a resolution time; ignored", int((~usable).sum()))
    m = m.assign(case=target, resolution=resolution, resolved_s=epoch_us_or_nat(resolved))[usable.to_numpy()]
    if m.empty:
        return
    order_cols = [c for c in ("file_seq", "source_line") if c in m.columns]
    m = m.sort_values(order_cols, kind="stable") if order_cols else m
    m = m.drop_duplicates("case", keep="last")
    at = m["case"].to_numpy(dtype=np.int64)
    is_resolved = (m["resolution"] == "resolved").to_numpy()
    res_s = m["resolved_s"].to_numpy(dtype=np.int64)
    resolved_col = cases["resolved_at_s"].to_numpy(dtype=np.int64).copy()
    closed_col = cases["closed_at_s"].to_numpy(dtype=np.int64).copy()
    resolved_col[at] = np.where(is_resolved, res_s, _NAT)
    closed_col[at] = np.where(is_resolved | (res_s != _NAT), res_s, cap[at])
    cases["resolved_at_s"] = resolved_col
    cases["closed_at_s"] = closed_col
    status = cases["status"].astype(object).to_numpy().copy()
    status[at] = np.where(is_resolved, "resolved", "unresolved")
    cases["status"] = pd.array(status, dtype=STRING)
    source = cases["resolution_source"].astype(object).to_numpy().copy()
    source[at] = "manual"
    cases["resolution_source"] = pd.array(source, dtype=STRING)
    ids = cases["resolution_message_id"].array.copy()
    ids[at] = pd.NA
    cases["resolution_message_id"] = ids


def epoch_us_or_nat(values: pd.Series) -> np.ndarray:
    """UTC epoch seconds of a tz-aware column; NaT -> the int64 NaT sentinel."""
    us = values.astype("datetime64[us, UTC]").dt.tz_localize(None).to_numpy().view(np.int64)
    return np.where(values.isna().to_numpy(), _NAT, np.floor_divide(us, 1_000_000))


def _empty() -> pd.DataFrame:
    dtypes = {
        "case_id": STRING, "thread_id": STRING, "customer_id": STRING, "agent_id": STRING, "category": STRING,
        "opened_at": "datetime64[us, UTC]", "opened_at_local": "datetime64[us]",
        "first_response_at": "datetime64[us, UTC]", "first_response_business_seconds": "Int64",
        "resolved_at": "datetime64[us, UTC]", "resolution_source": STRING, "resolution_message_id": STRING,
        "resolution_business_seconds": "Int64", "closed_at": "datetime64[us, UTC]", "status": STRING,
        "is_repeat": bool, "is_in_closed_period": bool,
    }
    return pd.DataFrame({c: pd.Series([], dtype=dtypes[c]) for c in CASE_COLUMNS})
