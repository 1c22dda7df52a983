"""Canonical message files (``.csv``, ``.jsonl``, ``.parquet``): the second input of SPEC 3.

For systems that already hold messages as rows (a CRM, flattened WhatsApp Cloud API webhooks).
Columns (names are matched case-insensitively):

=================  ========  ==================================================================
column             required  meaning
=================  ========  ==================================================================
``thread``         yes       conversation name (alias: ``thread_name``, ``chat``)
``sent_at``        yes       ISO 8601; with an offset or ``Z`` it is converted, without one it
                             is local time of the configured time zone
``sender_name``    yes       sender as shown (alias: ``sender``)
``text``           yes       message text (may be empty)
``channel``        no        whatsapp | email | marketplace | other (default ``other``)
``sender_role``    no        customer | agent | bot | system (default: from the roster)
``message_type``   no        text | media | deleted | ... (default ``text``)
``is_auto_reply``  no        true / false
``agent_id``       no        roster id of the agent
``customer_id``    no        customer key
=================  ========  ==================================================================

Rows with an unreadable timestamp, an unknown channel or role, or a missing thread are
quarantined with their row number; the rest of the file loads.
"""

from __future__ import annotations

import io
import json

import pandas as pd
import pyarrow.parquet as pq

from kpi_transforms.core.errors import RejectedFile
from kpi_transforms.core.schema import CHANNELS, ROLES
from kpi_transforms.sources.base import ChatThread, HeaderMatch, ParseContext, ParseResult, Source

REQUIRED = ("thread", "sent_at", "sender_name", "text")
OPTIONAL = ("channel", "sender_role", "message_type", "is_auto_reply", "agent_id", "customer_id")
ALIASES = {"thread_name": "thread", "chat": "thread", "sender": "sender_name", "timestamp": "sent_at"}
_TRUE = {"true", "1", "yes", "y", "ya", "t"}
_FALSE = {"false", "0", "no", "n", "tidak", "f", ""}


def _read(data: bytes, suffix: str) -> pd.DataFrame:
    try:
        if suffix == ".parquet":
            return pq.read_table(io.BytesIO(data)).to_pandas()
        text = data.decode("utf-8-sig")
        if suffix == ".jsonl":
            records = []
            for number, line in enumerate(text.splitlines(), start=1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as exc:
                    record = {"__error__": f"line {number} is not JSON: {exc.msg}", "__raw__": line[:500]}
                if not isinstance(record, dict):
                    record = {"__error__": f"line {number} is not a JSON object", "__raw__": line[:500]}
                record["__line__"] = number
                records.append(record)
            return pd.DataFrame.from_records(records)
        return _read_csv(text)
    except UnicodeDecodeError as exc:
        raise RejectedFile(f"not UTF-8 text (byte {exc.start}); save the file as UTF-8") from exc
    except RejectedFile:
        raise
    except Exception as exc:  # noqa: BLE001 - any reader failure is a reason, not a crash
        raise RejectedFile(f"cannot read {suffix} file: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from exc


def _read_csv(text: str) -> pd.DataFrame:
    """CSV with a sniffed delimiter (, ; tab |). A row with the wrong number of fields is kept
    as an error row (quarantined later with its line number), not a reason to drop the file."""
    import csv

    sample = text[:65536]
    try:
        dialect = csv.Sniffer().sniff(sample.splitlines()[0] if sample else ",", delimiters=",;\t|")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        return pd.DataFrame()
    records = []
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            records.append({"__error__": f"unreadable CSV row: {exc}", "__line__": reader.line_num})
            continue
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            records.append(
                {"__error__": f"row has {len(row)} fields, the header has {len(header)} (unquoted delimiter {delimiter!r}?)",
                 "__raw__": delimiter.join(row)[:500], "__line__": reader.line_num}
            )
            continue
        record = dict(zip(header, row))
        record["__line__"] = reader.line_num
        records.append(record)
    frame = pd.DataFrame.from_records(records, columns=list(dict.fromkeys(header + ["__error__", "__raw__", "__line__"])))
    return frame.astype({c: "string" for c in header})


def parse_canonical(data: bytes, suffix: str, timezone: str) -> ParseResult:
    """Read a canonical message file; quarantine bad rows; group the rest by thread."""
    if not data.strip():
        raise RejectedFile("empty file")
    frame = _read(data, suffix.lower())
    frame.columns = [ALIASES.get(str(c).strip().lower(), str(c).strip().lower()) for c in frame.columns]
    if "__line__" not in frame.columns:
        frame["__line__"] = range(1, len(frame) + 1)
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing and len(frame):
        raise RejectedFile(
            f"missing required column(s) {', '.join(missing)}; expected {', '.join(REQUIRED)} "
            f"(optional: {', '.join(OPTIONAL)})"
        )
    if len(frame) == 0:
        raise RejectedFile("no rows")

    reasons = pd.Series("", index=frame.index, dtype=object)
    if "__error__" in frame.columns:
        reasons = reasons.where(frame["__error__"].isna(), frame["__error__"])

    thread = frame["thread"].astype("string").str.strip()
    reasons = reasons.where(~((reasons == "") & (thread.isna() | (thread == ""))), "empty thread")

    raw_ts = frame["sent_at"].astype("string").str.strip()
    has_offset = raw_ts.str.contains(r"(?:Z|[+-]\d\d:?\d\d)$", regex=True).fillna(False).astype(bool)
    local = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[us]")
    if has_offset.any():
        aware = pd.to_datetime(raw_ts[has_offset], errors="coerce", utc=True, format="ISO8601")
        local.loc[has_offset] = aware.dt.tz_convert(timezone).dt.tz_localize(None).astype("datetime64[us]")
    if (~has_offset).any():
        naive = pd.to_datetime(raw_ts[~has_offset], errors="coerce", format="ISO8601")
        if getattr(naive.dt, "tz", None) is not None:
            naive = naive.dt.tz_convert(timezone).dt.tz_localize(None)
        local.loc[~has_offset] = naive.astype("datetime64[us]")
    reasons = reasons.where(~((reasons == "") & local.isna()), "sent_at is not an ISO 8601 timestamp")

    channel = frame["channel"].astype("string").str.strip().str.lower() if "channel" in frame else pd.Series("other", index=frame.index, dtype="string")
    channel = channel.fillna("other").replace("", "other")
    reasons = reasons.where(~((reasons == "") & ~channel.isin(CHANNELS)), "unknown channel (" + ", ".join(CHANNELS) + ")")

    out = pd.DataFrame(
        {
            "local_ts": local,
            "sender": frame["sender_name"].astype("string").str.strip().replace("", pd.NA),
            "text": frame["text"].astype("string").fillna(""),
            "message_type": (frame["message_type"].astype("string").str.strip().str.lower().replace("", "text").fillna("text") if "message_type" in frame else "text"),
            "source_line": frame["__line__"].astype("int64"),
        }
    )
    if "sender_role" in frame:
        role = frame["sender_role"].astype("string").str.strip().str.lower().replace("", pd.NA)
        reasons = reasons.where(~((reasons == "") & role.notna() & ~role.isin(ROLES)), "unknown sender_role (customer, agent, bot, system)")
        out["sender_role"] = role
    if "is_auto_reply" in frame:
        flag = frame["is_auto_reply"].astype("string").str.strip().str.lower().fillna("")
        bad = ~flag.isin(_TRUE | _FALSE)
        reasons = reasons.where(~((reasons == "") & bad), "is_auto_reply is not true/false")
        out["is_auto_reply"] = flag.isin(_TRUE)
    for col in ("agent_id", "customer_id"):
        if col in frame:
            out[col] = frame[col].astype("string").str.strip().replace("", pd.NA)
    reasons = reasons.where(~((reasons == "") & out["sender"].isna() & (out.get("sender_role", pd.Series(pd.NA, index=frame.index)) != "system").fillna(True)), "empty sender_name")

    bad_mask = reasons != ""
    raw_text = frame.drop(columns=[c for c in frame.columns if c.startswith("__")]).astype("string").fillna("").agg(" | ".join, axis=1) if len(frame) else pd.Series([], dtype=str)
    if "__raw__" in frame.columns:
        raw_text = frame["__raw__"].astype("string").combine_first(raw_text)
    rejected = pd.DataFrame(
        {"source_line": out.loc[bad_mask, "source_line"], "raw": raw_text[bad_mask].str.slice(0, 500), "reason": reasons[bad_mask]}
    ).reset_index(drop=True)

    good = out[~bad_mask].copy()
    good["__channel__"] = channel[~bad_mask]
    good["__thread__"] = thread[~bad_mask]
    threads = []
    for (ch, name), group in good.groupby(["__channel__", "__thread__"], sort=True):
        group = group.drop(columns=["__channel__", "__thread__"]).sort_values("source_line", kind="stable")
        threads.append(ChatThread(str(ch), str(name), group.reset_index(drop=True)))
    n = len(frame)
    return ParseResult(layout=f"canonical {suffix.lower()}", threads=threads, rejected=rejected, lines_read=n,
                       header_lines=n - len(rejected), quarantined_lines=len(rejected),
                       messages_read=sum(len(t.raw) for t in threads))


def _match(header: list[str]) -> HeaderMatch:
    names = {ALIASES.get(n, n) for n in (str(h).strip().lower() for h in header)}
    return HeaderMatch(len(names & (set(REQUIRED) | set(OPTIONAL))), [c for c in REQUIRED if c not in names])


def _parse_sheet(_table: object, data: bytes, context: ParseContext) -> ParseResult:
    if context.suffix != ".csv":
        raise RejectedFile("canonical message files are read as .csv, .jsonl or .parquet; save the sheet as CSV UTF-8")
    return parse_canonical(data, context.suffix, context.config.timezone)


SOURCE = Source(
    name="canonical", label="canonical message file", suffixes=(".jsonl", ".parquet"),
    parse=lambda data, context: parse_canonical(data, context.suffix, context.config.timezone),
    match=_match, parse_sheet=_parse_sheet,
)
