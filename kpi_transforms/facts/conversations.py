"""Conversations of a thread (issue 19): the unit of AHT, ART, FCR and abandonment, and the rows
of ``marts.fct_conversation`` (issue 13/17: built once, in the fact build; the KPIs read them).

A thread's customer and human-agent messages (bots, auto-replies and system lines left out)
are cut into *sessions* wherever two consecutive messages are at least
``conversation_gap_hours`` apart (24 h by default). A session with a customer message is a
**conversation**; it starts at its first customer message (outreach before it belongs to it but
is not handled time) and belongs to the period of that message's local date, to the thread's
channel and to the agent of its first human reply after the start. Its id is the message id of
that first customer message.

* **resolved** — the session is over (a later message of the thread, or the data horizon at
  least one gap past its last message) and a human agent replied after its start.
  ``resolved_at`` = the last human agent message of the session (a customer's closing
  "terima kasih" after it does not move it).
* **unanswered** — over, and no human agent wrote after the start.
* **open** — the data horizon is less than one gap past its last message.

``handle_seconds`` (AHT): from the first human reply to ``resolved_at``, the sum of the gaps
between consecutive messages that are at most ``aht_idle_minutes`` long; longer gaps are idle
time and count 0. ``resolution_business_seconds`` (ART): working seconds from the start to
``resolved_at``. ``is_fcr`` (FCR): a resolved conversation whose customer (customer_id, else
the thread) starts no conversation with the same intent (the intent of its first queue; none =
``other``) on any thread within ``fcr_days`` x 24 h after ``resolved_at``; null while that
window is still open at the data horizon and the customer has not come back.
``is_abandoned``: see :func:`_abandoned`. The agent of an unanswered conversation is the
thread's primary agent.

Two steps, so the fact build can rebuild threads and refresh what depends on other threads:
:func:`thread_conversations` needs one thread's messages only (status, times, AHT, ART);
:func:`conversation_flags` needs every conversation of the customer and their orders (FCR,
abandonment) and is re-run over the whole table in every ingest transaction, like
``fct_case.is_repeat``. :func:`conversations` is both in one call.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from kpi_transforms.core.calendar import BusinessCalendar, to_epoch_seconds

CONVERSATION_COLUMNS = ["conversation_id", "thread_id", "channel", "customer", "agent_id", "start_at", "start_local", "first_reply_at",
                        "resolved_at", "last_at", "status", "handle_seconds", "resolution_business_seconds", "intent", "is_fcr",
                        "is_abandoned"]


def conversations(messages: pd.DataFrame, horizon: pd.Timestamp | None, calendar: BusinessCalendar, timezone: str,
                  gap_hours: float, idle_minutes: float, fcr_days: int, orders: pd.DataFrame | None = None,
                  abandon_days: int = 30) -> pd.DataFrame:
    """One row per conversation of ``messages`` (columns :data:`CONVERSATION_COLUMNS`):
    :func:`thread_conversations`, then :func:`conversation_flags` over the same rows.

    ``messages``: message_id, thread_id, channel, customer_id, primary_agent_id, sent_at (UTC),
    sender_role, agent_id, is_auto_reply, intent (of the queue the message starts, else null).
    ``orders`` (customer, order_date), if a sales report is loaded, for ``is_abandoned``.
    """
    conv = thread_conversations(messages, horizon, calendar, timezone, gap_hours, idle_minutes)
    flags = conversation_flags(conv, orders, horizon, fcr_days, abandon_days, timezone)
    conv["is_fcr"] = flags["is_fcr"]
    conv["is_abandoned"] = flags["is_abandoned"]
    return conv


def thread_conversations(messages: pd.DataFrame, horizon: pd.Timestamp | None, calendar: BusinessCalendar, timezone: str,
                         gap_hours: float, idle_minutes: float) -> pd.DataFrame:
    """The conversations of ``messages`` with what their own threads decide (columns
    :data:`CONVERSATION_COLUMNS`; ``is_fcr`` and ``is_abandoned`` left null for
    :func:`conversation_flags`). ``messages`` as for :func:`conversations`."""
    if messages.empty:
        return pd.DataFrame({c: pd.Series([], dtype=object) for c in CONVERSATION_COLUMNS})
    auto = pd.Series(messages["is_auto_reply"]).astype("boolean").fillna(False).to_numpy(dtype=bool)
    role = messages["sender_role"].astype(str).to_numpy()
    m = messages[(role == "customer") | ((role == "agent") & ~auto)]
    if "primary_agent_id" not in m.columns:
        m = m.assign(primary_agent_id=None)
    m = m.assign(ts=to_epoch_seconds(pd.to_datetime(m["sent_at"], utc=True)))
    m = m.sort_values(["thread_id", "ts", "message_id"], kind="stable").reset_index(drop=True)
    gap_s, idle_s = gap_hours * 3600.0, idle_minutes * 60.0
    horizon_s = None
    if horizon is not None:
        stamp = pd.Timestamp(horizon)
        stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
        horizon_s = stamp.timestamp()

    n = len(m)
    idx = np.arange(n)
    ts = m["ts"].to_numpy(dtype=float)
    thread = m["thread_id"].astype(str).to_numpy()
    is_customer = m["sender_role"].astype(str).to_numpy() == "customer"
    new_thread = np.ones(n, dtype=bool)
    new_thread[1:] = thread[1:] != thread[:-1]
    step = np.zeros(n)
    step[1:] = ts[1:] - ts[:-1]
    session = np.cumsum(new_thread | (step >= gap_s)) - 1
    n_sessions = int(session[-1]) + 1
    # per session: last row, first customer row; first and last agent reply after it
    last_row = np.full(n_sessions, -1)
    np.maximum.at(last_row, session, idx)
    start = np.full(n_sessions, n)
    np.minimum.at(start, session[is_customer], idx[is_customer])
    after = ~is_customer & (idx > start[session])
    first_reply = np.full(n_sessions, n)
    np.minimum.at(first_reply, session[after], idx[after])
    last_reply = np.full(n_sessions, -1)
    np.maximum.at(last_reply, session[after], idx[after])
    # the thread goes on after the session, or the horizon is one gap past its last message
    thread_last = np.r_[new_thread[1:], True]
    over = ~thread_last[last_row]
    if horizon_s is not None:
        over |= horizon_s >= ts[last_row] + gap_s
    replied = first_reply < n
    status = np.where(~over, "open", np.where(replied, "resolved", "unanswered"))
    # AHT: gaps between consecutive messages from the first reply to the last one, up to the idle limit
    inside = (idx > first_reply[session]) & (idx <= last_reply[session]) & (step <= idle_s)
    handle = np.bincount(session[inside], weights=step[inside], minlength=n_sessions)

    keep = start < n  # sessions with a customer message are conversations
    sel = np.flatnonzero(keep)
    st, fr, lr = start[sel], first_reply[sel], last_reply[sel]
    has_reply = fr < n
    agents = m["agent_id"].astype(object).to_numpy()
    primary = m["primary_agent_id"].astype(object).to_numpy()
    intents = m["intent"].astype(object).to_numpy()
    status_sel = status[sel]
    resolved = status_sel == "resolved"
    conv = pd.DataFrame({
        "conversation_id": m["message_id"].astype(str).to_numpy()[st],
        "thread_id": thread[st],
        "channel": m["channel"].astype(str).to_numpy()[st],
        "customer": _thread_customer(m, thread, thread[st]),
        "agent_id": np.where(has_reply, agents[np.minimum(fr, n - 1)], primary[st]),
        "start_s": ts[st],
        "first_reply_s": np.where(has_reply, ts[np.minimum(fr, n - 1)], np.nan),
        "resolved_s": np.where(resolved, ts[np.maximum(lr, 0)], np.nan),
        "last_s": ts[last_row[sel]],
        "status": status_sel,
        "handle_seconds": np.where(resolved, handle[sel], np.nan),
        "intent": [i if isinstance(i, str) else "other" for i in intents[st]],
    })
    conv["agent_id"] = conv["agent_id"].where(conv["agent_id"].map(lambda a: isinstance(a, str)), None)
    art = np.full(len(conv), np.nan)
    if resolved.any():
        art[resolved] = calendar.business_seconds(conv["start_s"].to_numpy()[resolved].astype(np.int64),
                                                  conv["resolved_s"].to_numpy()[resolved].astype(np.int64))
    conv["resolution_business_seconds"] = art
    conv["is_fcr"] = pd.Series(pd.array([pd.NA] * len(conv), dtype="boolean"), index=conv.index)
    conv["is_abandoned"] = pd.Series(pd.array([pd.NA] * len(conv), dtype="boolean"), index=conv.index)
    start_at = pd.to_datetime(conv["start_s"], unit="s", utc=True)
    conv["start_at"] = start_at
    conv["start_local"] = start_at.dt.tz_convert(timezone).dt.tz_localize(None)
    conv["first_reply_at"] = pd.to_datetime(conv["first_reply_s"], unit="s", utc=True)
    conv["resolved_at"] = pd.to_datetime(conv["resolved_s"], unit="s", utc=True)
    conv["last_at"] = pd.to_datetime(conv["last_s"], unit="s", utc=True)
    return conv[CONVERSATION_COLUMNS]


def conversation_flags(conv: pd.DataFrame, orders: pd.DataFrame | None, horizon: pd.Timestamp | None, fcr_days: int,
                       abandon_days: int, timezone: str) -> pd.DataFrame:
    """``is_fcr`` and ``is_abandoned`` of ``conv`` (rows of :func:`thread_conversations`, or of
    ``marts.fct_conversation`` renamed to them: customer, intent, status, start_at, resolved_at,
    last_at), decided against every row of ``conv``: pass every conversation of the customers
    concerned (the fact build passes the whole table). Same index as ``conv``."""
    horizon_s = _epoch(horizon)
    frame = pd.DataFrame({
        "customer": conv["customer"].astype(str).to_numpy(),
        "intent": conv["intent"].astype(object).fillna("other").astype(str).to_numpy(),
        "status": conv["status"].astype(str).to_numpy(),
        "start_s": _seconds(conv["start_at"]), "resolved_s": _seconds(conv["resolved_at"]), "last_s": _seconds(conv["last_at"]),
    })
    out = pd.DataFrame({"is_fcr": _fcr(frame, horizon_s, fcr_days * 86400.0).to_numpy(),
                        "is_abandoned": _abandoned(frame, orders, horizon_s, abandon_days, timezone).to_numpy()}, index=conv.index)
    return out.astype("boolean")


def _epoch(stamp: pd.Timestamp | None) -> float | None:
    if stamp is None or pd.isna(stamp):
        return None
    stamp = pd.Timestamp(stamp)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return stamp.timestamp()


def _seconds(values: pd.Series) -> np.ndarray:
    """UTC epoch seconds (float, NaN for null) of a timestamp column."""
    stamps = pd.to_datetime(pd.Series(values), utc=True)
    out = np.full(len(stamps), np.nan)
    known = stamps.notna().to_numpy()
    if known.any():
        out[known] = to_epoch_seconds(stamps[known]).astype(float)
    return out


def _thread_customer(m: pd.DataFrame, thread: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Per thread id of ``wanted``: the thread's first customer_id (in the row order of ``m``,
    whose thread ids are ``thread``), else ``thread:<thread_id>``."""
    cid = m["customer_id"].astype(object).to_numpy()
    known = np.flatnonzero(pd.notna(cid))
    firsts = pd.Series(cid[known], index=thread[known])
    firsts = firsts[~firsts.index.duplicated(keep="first")].astype(str)
    out = pd.Series(wanted).map(firsts)
    return out.where(out.notna(), "thread:" + pd.Series(wanted)).to_numpy(dtype=object)


def _next_after(left: pd.DataFrame, left_on: str, right: pd.DataFrame, right_on: str, by: list[str],
                allow_exact: bool) -> np.ndarray:
    """Per row of ``left`` (in its order): the smallest ``right[right_on]`` of the same ``by``
    keys after ``left[left_on]`` (at or after with ``allow_exact``); NaN if none."""
    if left.empty or right.empty:
        return np.full(len(left), np.nan)
    lhs = left[by].assign(_t=left[left_on].to_numpy(dtype=float), _row=np.arange(len(left))).sort_values("_t", kind="stable")
    rhs = right[by].assign(_t=right[right_on].to_numpy(dtype=float), _next=right[right_on].to_numpy(dtype=float))
    rhs = rhs.sort_values("_t", kind="stable")
    got = pd.merge_asof(lhs, rhs, on="_t", by=by, direction="forward", allow_exact_matches=allow_exact)
    out = np.full(len(left), np.nan)
    out[got["_row"].to_numpy()] = got["_next"].to_numpy(dtype=float)
    return out


def _fcr(conv: pd.DataFrame, horizon_s: float | None, window_s: float) -> pd.Series:
    """Per resolved conversation: no conversation of the same customer and intent starts within
    ``window_s`` after its resolution (True), one does (False), or the window is still open at
    the horizon (null). Null for the other conversations."""
    out = pd.array([pd.NA] * len(conv), dtype="boolean")
    resolved = np.flatnonzero(conv["status"].to_numpy() == "resolved")
    if len(resolved) == 0:
        return pd.Series(out, index=conv.index)
    done = conv.iloc[resolved]
    back_at = _next_after(done, "resolved_s", conv, "start_s", ["customer", "intent"], allow_exact=False)
    came_back = back_at <= done["resolved_s"].to_numpy() + window_s
    past = np.zeros(len(done), dtype=bool) if horizon_s is None else horizon_s >= done["resolved_s"].to_numpy() + window_s
    values = np.where(came_back, False, True)
    known = came_back | past
    out[resolved[known]] = values[known]
    return pd.Series(out, index=conv.index)


def _abandoned(conv: pd.DataFrame, orders: pd.DataFrame | None, horizon_s: float | None, days: int,
               timezone: str) -> pd.Series:
    """Per unanswered conversation: abandoned (True) when the customer starts no later
    conversation on any thread and orders nothing (if a sales report is loaded; an order dated
    on the day of the last message or later) within ``days`` x 24 h after its last message;
    False when they came back; null while that window is open at the data horizon. Null for
    the other conversations."""
    out = pd.array([pd.NA] * len(conv), dtype="boolean")
    rows = np.flatnonzero(conv["status"].to_numpy() == "unanswered")
    if len(rows) == 0:
        return pd.Series(out, index=conv.index)
    window = days * 86400.0
    lost = conv.iloc[rows]
    last = lost["last_s"].to_numpy(dtype=float)
    came_back = _next_after(lost, "last_s", conv, "start_s", ["customer"], allow_exact=False) <= last + window
    if orders is not None and len(orders):
        known = orders[orders["customer"].notna().to_numpy(dtype=bool)]
        local = pd.to_datetime(known["order_date"]).dt.tz_localize(timezone).dt.tz_convert("UTC")
        placed = pd.DataFrame({"customer": known["customer"].astype(str).to_numpy(),
                               "day_s": to_epoch_seconds(local).astype(float) if len(local) else np.zeros(0)})
        last_day = pd.to_datetime(lost["last_s"], unit="s", utc=True).dt.tz_convert(timezone).dt.normalize().dt.tz_convert("UTC")
        probe = pd.DataFrame({"customer": lost["customer"].astype(str).to_numpy(), "day_s": to_epoch_seconds(last_day).astype(float)})
        came_back |= _next_after(probe, "day_s", placed, "day_s", ["customer"], allow_exact=True) <= last + window
    past = np.zeros(len(lost), dtype=bool) if horizon_s is None else horizon_s >= last + window
    known_rows = came_back | past
    out[rows[known_rows]] = ~came_back[known_rows]
    return pd.Series(out, index=conv.index)


# --------------------------------------------------------------------------------------------
# marts.fct_conversation
# The table's columns (kpi_transforms/core/contracts/fct_conversation.yaml) from this module's.
TABLE_NAMES = {"start_at": "started_at", "start_local": "started_at_local", "last_at": "last_message_at"}


def fct_conversation(messages: pd.DataFrame, threads: pd.DataFrame, pairs: pd.DataFrame, horizon: pd.Timestamp | None,
                     calendar: BusinessCalendar, timezone: str, gap_hours: float, idle_minutes: float) -> pd.DataFrame:
    """Rows of ``marts.fct_conversation`` for the threads of ``messages`` (canonical messages of
    whole threads), with what their own threads decide; ``is_fcr`` and ``is_abandoned`` are
    null here and set over the whole table by :func:`conversation_flags` (the fact build's
    cross-thread refresh). ``threads``: the same rebuild's ``fct_thread`` rows (customer_id,
    primary_agent_id); ``pairs``: its ``fct_reply_pair`` rows with their intent (the intent of
    the queue a message starts)."""
    if messages.empty:
        return _table(thread_conversations(messages, horizon, calendar, timezone, gap_hours, idle_minutes))
    role = messages["sender_role"].astype(str).to_numpy()
    m = messages.loc[(role == "customer") | (role == "agent"),
                     ["message_id", "thread_id", "channel", "sent_at", "sender_role", "agent_id", "is_auto_reply"]]
    by_thread = threads.set_index(threads["thread_id"].astype(str))
    thread_key = m["thread_id"].astype(str)
    intent = pd.Series(pairs["intent"].astype(object).to_numpy(), index=pairs["question_message_id"].astype(str).to_numpy())
    m = m.assign(customer_id=thread_key.map(by_thread["customer_id"].astype(object)).to_numpy(),
                 primary_agent_id=thread_key.map(by_thread["primary_agent_id"].astype(object)).to_numpy(),
                 intent=m["message_id"].astype(str).map(intent).to_numpy())
    out = _table(thread_conversations(m, horizon, calendar, timezone, gap_hours, idle_minutes))
    customer = out["thread_id"].astype(str).map(by_thread["customer_id"].astype(object))
    out["customer_id"] = customer.where(customer.notna(), None)
    return out


def _table(conv: pd.DataFrame) -> pd.DataFrame:
    """Rows of :func:`thread_conversations` under the table's column names."""
    out = conv.rename(columns=TABLE_NAMES)
    out["customer_id"] = pd.Series([None] * len(out), dtype=object, index=out.index)
    for col in ("handle_seconds", "resolution_business_seconds"):
        out[col] = pd.to_numeric(out[col], errors="coerce").round().astype("Int64")
    return out


def stored_conversations(table: pd.DataFrame) -> pd.DataFrame:
    """Rows of ``marts.fct_conversation`` under this module's column names (``customer`` =
    customer_id, else ``thread:<thread_id>``), as :func:`conversation_flags` and the KPIs read them."""
    out = table.rename(columns={v: k for k, v in TABLE_NAMES.items()})
    cid = out["customer_id"].astype(object)
    out["customer"] = cid.where(cid.notna(), "thread:" + out["thread_id"].astype(str))
    return out
