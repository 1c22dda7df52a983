"""WhatsApp chat exports: the ``.txt`` parser (:mod:`.parser`) and the source entry that names
the chat and its thread. The ``.zip`` the phone writes is opened by the registry
(:mod:`kpi_transforms.sources.zipsafe`); its chat texts come here as ``.txt``."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from kpi_transforms.core.identity import Roster, make_thread_id, thread_key
from kpi_transforms.sources.base import ChatThread, ParseContext, ParseResult, Source
from kpi_transforms.sources.whatsapp.parser import parse_whatsapp

CHANNEL = "whatsapp"


def participant_name(raw: pd.DataFrame, roster: Roster) -> str | None:
    """The chat name of an export whose file name does not carry it: the non-agent participant
    with the most messages (ties: the first to write)."""
    senders = raw["sender"].dropna()
    senders = senders[[roster.agent_of(s) is None for s in senders.tolist()]] if len(senders) else senders
    if senders.empty:
        return None
    counts = senders.value_counts(sort=False)
    first_seen = {s: i for i, s in reversed(list(enumerate(senders.tolist())))}
    return max(counts.index, key=lambda s: (counts[s], -first_seen[s]))


def parse_export(data: bytes, context: ParseContext, *, force_hint: bool = False) -> ParseResult:
    """One export: its messages as one thread named after the file (else the customer who
    writes most). An ambiguous day/month order takes the order already decided for the same
    chat (``context.date_order_hints``); ``force_hint`` re-reads under that order whatever the
    configured one is (the batch's second pass)."""
    config = context.config
    parsed = parse_whatsapp(data, date_order=config.whatsapp_date_order)
    name = context.name_from_file or participant_name(parsed.messages, context.roster)
    if name is None:
        name = Path(context.member or context.path).stem
    thread_id = make_thread_id(CHANNEL, thread_key(name, config))
    hint = context.date_order_hints.get(thread_id)
    if force_hint and hint is not None:
        parsed = parse_whatsapp(data, date_order=config.whatsapp_date_order, date_order_hint=hint)
    elif parsed.ambiguous and config.whatsapp_date_order == "auto" and hint is not None:
        parsed = parse_whatsapp(data, date_order="auto", date_order_hint=hint)
    return ParseResult(
        layout=parsed.layout, threads=[ChatThread(CHANNEL, name, parsed.messages)], rejected=parsed.rejected,
        lines_read=parsed.lines_read, header_lines=parsed.header_lines, continuation_lines=parsed.continuation_lines,
        quarantined_lines=parsed.quarantined_lines, messages_read=len(parsed.messages), date_order=parsed.date_order,
        date_order_source=parsed.date_order_source, ambiguous=parsed.ambiguous, chat_name=name, thread_id=thread_id,
    )


SOURCE = Source(name="whatsapp", label="WhatsApp chat export", suffixes=(".txt",), parse=parse_export)
