"""Marketplace "Detail Chat" exports (Tokopedia, Shopee, TikTok Shop; ``.csv`` / ``.xlsx``)
-> threads of raw messages, plus chat ratings. Also the row-file reader that the sales report,
customer list and manual override files share (:func:`read_rows`).

The columns of each marketplace are declared in :mod:`kpi_transforms.marketplace_maps`; the
marketplace is detected from the header. One thread per buyer-shop chat: thread key
``<marketplace>:<shop>:<buyer id or normalised buyer name>``, customer key
``<marketplace>:<buyer id or normalised buyer name>`` (map it to a canonical customer with the
customer_map file). Message types the marketplace flags become ``faq_card`` /
``welcome_card`` (no customer content, SPEC 6), auto replies and bots become
``is_auto_reply`` (they never close a queue), the store holiday-mode flag becomes
``in_holiday_mode`` (a queue opened then is not valid, seed 004) and ratings go to
``marts.fct_chat_rating``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json

import pandas as pd

from kpi_transforms.core.config import Config
from kpi_transforms.core.errors import RejectedFile
from kpi_transforms.core.identity import make_thread_id, normalise_name
from kpi_transforms.core.timezone import localize
from kpi_transforms.sources.base import ChatThread, HeaderMatch, ParseContext, ParseResult, Source
from kpi_transforms.sources.marketplace.maps import MarketplaceMap, all_maps
from kpi_transforms.sources.tables.ratings import RATING_TABLE
from kpi_transforms.sources.tables.reader import Table, cell_text, parse_datetimes, parse_flag

CHANNEL = "marketplace"


# -------------------------------------------------------------------------------------------
# Marketplace detection and parsing
@dataclasses.dataclass
class Detection:
    map: MarketplaceMap
    columns: dict[str, str]  # field -> header
    missing: list[str]

    @property
    def complete(self) -> bool:
        return not self.missing


def detect_marketplace(header: list[str]) -> Detection | None:
    """The marketplace whose map matches the header best (most fields found; a complete match
    beats any partial one); None when no map recognises two or more fields."""
    best: Detection | None = None
    for mp in all_maps().values():
        found = mp.resolve(header)
        missing = [f for f in mp.required if f not in found and not (f == "buyer" and "buyer_id" in found)]
        candidate = Detection(mp, found, missing)
        rank = (candidate.complete, len(found))
        if best is None or rank > (best.complete, len(best.columns)):
            best = candidate
    if best is None or len(best.columns) < 2:
        return None
    return best


def header_score(header: list[str]) -> int:
    """How many marketplace fields a candidate header row names (for :func:`read_rows`)."""
    found = detect_marketplace(header)
    return len(found.columns) if found else 0


def missing_columns_reason(detection: Detection) -> str:
    mp = detection.map
    names = ", ".join(f"{mp.columns[f][0]} ({f})" for f in detection.missing)
    return (
        f"looks like a {mp.label} chat export but lacks column(s) {names}; "
        f"found {', '.join(sorted(detection.columns))}. See docs/INPUTS.md for the accepted headers."
    )


def _unwrap(text: str) -> str:
    """API exports put the message in JSON (``{"content": "..."}``): keep the text."""
    stripped = text.strip()
    if stripped.startswith("{") and stripped.endswith("}"):
        try:
            obj = json.loads(stripped)
        except ValueError:
            return text
        if isinstance(obj, dict):
            for key in ("content", "text", "msg", "message"):
                if isinstance(obj.get(key), str):
                    return obj[key]
    return text


@dataclasses.dataclass
class ParsedChats:
    marketplace: str
    threads: list[tuple[str, str, pd.DataFrame]]
    rejected: pd.DataFrame
    ratings: pd.DataFrame  # rows for marts.fct_chat_rating (without file_seq / source_file)
    rows_read: int
    date_order: str
    date_order_source: str


def parse_marketplace(table: Table, config: Config, detection: Detection | None = None) -> ParsedChats:
    """Rows of a marketplace chat export -> threads (one per buyer-shop chat), quarantined rows
    and ratings. Raises RejectedFile naming the missing columns for an incomplete header."""
    detection = detection or detect_marketplace(table.header)
    if detection is None:
        raise RejectedFile("not a marketplace chat export: no known column found")
    if not detection.complete:
        raise RejectedFile(missing_columns_reason(detection))
    mp, cols = detection.map, detection.columns
    frame = table.rows
    n = len(frame)
    if n == 0:
        raise RejectedFile("no rows")

    def get(field: str) -> pd.Series:
        if field in cols:
            return frame[cols[field]].map(cell_text)
        return pd.Series("", index=frame.index, dtype=object)

    reasons = frame["__error__"].astype(object).fillna("") if "__error__" in frame else pd.Series("", index=frame.index, dtype=object)
    local, ts_reasons, order, order_source = parse_datetimes(frame[cols["timestamp"]], config.timezone)
    reasons = reasons.where(reasons != "", ts_reasons.map(lambda r: f"timestamp: {r}" if r else ""))

    buyer, buyer_id, shop = get("buyer"), get("buyer_id"), get("shop")
    buyer_key = buyer_id.where(buyer_id != "", buyer.map(normalise_name))
    reasons = reasons.where((reasons != "") | (buyer_key != ""), "empty buyer")

    role_raw = get("sender_role")
    roles = role_raw.map(mp.role_of)
    bad_role = roles.isna() & (reasons == "")
    reasons = reasons.where(~bad_role, role_raw.map(lambda v: f"unknown sender role {v!r} (expected one of {', '.join(mp.roles)})"))

    type_raw = get("message_type")
    rules = type_raw.map(mp.type_of)
    mtype = rules.map(lambda r: r.message_type if r is not None else "text")
    auto = rules.map(lambda r: bool(r.is_auto_reply) if r is not None else False)
    role_override = rules.map(lambda r: r.role if r is not None else None)
    roles = role_override.where(role_override.notna(), roles)
    if "auto_reply" in cols:
        flag = frame[cols["auto_reply"]].map(parse_flag)
        auto = auto | flag.fillna(False).astype(bool)
    holiday = frame[cols["holiday_mode"]].map(parse_flag) if "holiday_mode" in cols else pd.Series(False, index=frame.index)
    bad_flag = holiday.isna() & (reasons == "")
    reasons = reasons.where(~bad_flag, "holiday-mode flag is not yes/no (Ya/Tidak)")
    holiday = holiday.fillna(False).astype(bool)

    text = get("message").map(_unwrap)
    sender_name = get("sender_name")
    agent = get("agent")
    sender = sender_name.where(sender_name != "", "")
    buyer_shown = buyer.where(buyer != "", buyer_id)
    is_customer = roles == "customer"
    is_agent_side = roles.isin(["agent", "bot"])
    sender = sender.where(~((sender == "") & is_customer), buyer_shown)
    sender = sender.where(~((agent != "") & (roles == "agent")), agent)
    sender = sender.where(~((sender == "") & is_agent_side), shop.where(shop != "", mp.label))
    sender = sender.where(roles != "system", None)

    # ratings: a 1-5 value on a row; the same value repeated down a chat is one rating
    stars = pd.Series(pd.NA, index=frame.index, dtype="Int64")
    if "rating" in cols:
        raw_rating = get("rating")
        as_num = pd.to_numeric(raw_rating.str.replace(",", ".", regex=False), errors="coerce")
        valid = as_num.notna() & (as_num == as_num.round()) & as_num.between(1, 5)
        stars = stars.mask(valid, as_num.where(valid).astype("Int64"))
        bad_rating = (raw_rating != "") & ~valid
    else:
        bad_rating = pd.Series(False, index=frame.index)

    key_shop = shop.map(normalise_name)
    thread_key = mp.name + ":" + key_shop + ":" + buyer_key
    customer_id = mp.name + ":" + buyer_key
    # a rating-only row (no text) is kept as a system line so every row is accounted for
    rating_only = (text == "") & stars.notna().to_numpy() & (mtype == "text")
    mtype = mtype.where(~rating_only, "system")
    roles = roles.where(~rating_only, "system")
    text = text.where(~rating_only, stars.astype("string").fillna("").map(lambda s: f"rating: {s}"))

    ok = reasons == ""
    raw = pd.DataFrame(
        {
            "local_ts": local,
            "sender": sender.astype("string").replace("", pd.NA),
            "text": text.astype("string"),
            "message_type": mtype.astype("string"),
            "source_line": frame["__line__"].astype("int64"),
            "sender_role": roles.astype("string"),
            "is_auto_reply": auto.astype(bool) & is_agent_side.astype(bool),
            "customer_id": customer_id.astype("string"),
            "thread_key": thread_key.astype("string"),
            "in_holiday_mode": holiday,
        }
    )
    raw_text = frame[table.header].map(cell_text).agg(" | ".join, axis=1) if len(frame) else pd.Series([], dtype=str)
    if "__raw__" in frame:
        raw_text = frame["__raw__"].where(frame["__raw__"].notna(), raw_text)
    rejected = pd.DataFrame({"source_line": raw.loc[~ok, "source_line"], "raw": raw_text[~ok].str.slice(0, 500), "reason": reasons[~ok]})
    rating_note = bad_rating & ok
    if rating_note.any():  # the message loads; only its rating is refused
        rejected = pd.concat([rejected, pd.DataFrame({
            "source_line": raw.loc[rating_note, "source_line"], "raw": raw_text[rating_note].str.slice(0, 500),
            "reason": "rating is not a whole number 1-5 (message kept, rating ignored)"})], ignore_index=True)

    good = raw[ok.to_numpy()].copy()
    good["__name__"] = buyer[ok].where(buyer[ok] != "", buyer_id[ok])
    threads = []
    for key, group in good.groupby("thread_key", sort=True):
        group = group.sort_values(["local_ts", "source_line"], kind="stable")
        name = next((n for n in group["__name__"] if n), str(key))
        threads.append((CHANNEL, name, group.drop(columns=["__name__"]).reset_index(drop=True)))

    ratings = _ratings(good.assign(stars=stars[ok.to_numpy()].to_numpy()), config.timezone)
    return ParsedChats(mp.name, threads, rejected.reset_index(drop=True), ratings, n, order, order_source)


def _ratings(rows: pd.DataFrame, timezone: str) -> pd.DataFrame:
    rated = rows[rows["stars"].notna()].sort_values(["thread_key", "local_ts", "source_line"], kind="stable")
    columns = ["rating_id", "thread_id", "channel", "rated_at", "rated_at_local", "stars", "source_line"]
    if rated.empty:
        return pd.DataFrame({c: pd.Series([], dtype=object) for c in columns})
    # one rating per run of equal values in a chat, at the run's last row
    nxt_same = (rated["thread_key"].shift(-1) == rated["thread_key"]) & (rated["stars"].shift(-1) == rated["stars"])
    last = rated[~nxt_same.fillna(False).astype(bool)]

    thread_ids = last["thread_key"].map(lambda k: make_thread_id(CHANNEL, k))
    local = last["local_ts"].astype("datetime64[us]")
    ids = [
        hashlib.sha256(f"{t}|{ts:%Y-%m-%dT%H:%M:%S}|{s}".encode()).hexdigest()[:32]
        for t, ts, s in zip(thread_ids, local, last["stars"])
    ]
    local = local.reset_index(drop=True)
    return pd.DataFrame(
        {
            "rating_id": pd.Series(ids, dtype="string"),
            "thread_id": pd.Series(thread_ids.to_numpy(), dtype="string"),
            "channel": pd.Series(CHANNEL, index=local.index, dtype="string"),
            "rated_at": localize(local, timezone),
            "rated_at_local": local,
            "stars": pd.Series(last["stars"].astype("int16").to_numpy()),
            "source_line": pd.Series(last["source_line"].astype("int64").to_numpy()),
        }
    )


def _match(header: list[str]) -> HeaderMatch | None:
    found = detect_marketplace(header)
    if found is None:
        return None
    return HeaderMatch(len(found.columns), [f"{found.map.columns[f][0]} ({f})" for f in found.missing])


def _parse_sheet(table: Table, _data: bytes, context: ParseContext) -> ParseResult:
    parsed = parse_marketplace(table, context.config)
    kept = parsed.rejected["reason"].str.contains("message kept", regex=False) if len(parsed.rejected) else pd.Series([], dtype=bool)
    threads = [ChatThread(*t) for t in parsed.threads]
    n_messages = sum(len(t.raw) for t in threads)
    return ParseResult(
        layout=f"{parsed.marketplace} chat, {table.layout}", threads=threads,
        tables={RATING_TABLE.name: parsed.ratings} if len(parsed.ratings) else {},
        rejected=parsed.rejected, lines_read=parsed.rows_read, header_lines=n_messages,
        quarantined_lines=int((~kept).sum()), messages_read=n_messages,
        date_order=parsed.date_order, date_order_source=parsed.date_order_source,
        chat_name=threads[0].name if len(threads) == 1 else None,
    )


SOURCE = Source(
    name="marketplace", label="marketplace chat export", match=_match, parse_sheet=_parse_sheet,
    missing_reason=lambda header: missing_columns_reason(detect_marketplace(header)),
)
