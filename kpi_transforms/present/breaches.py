"""The breach list and the transcript of a thread, as the command line prints them."""

from __future__ import annotations

import json

import pandas as pd

from kpi_transforms.metrics.review_sheet import human_duration

BREACH_TEXT = {
    "id": {
        "open": "Antrean terbuka melewati batas 1 hari kerja",
        "late": "Jawaban terlambat (melewati batas 1 hari kerja)",
        "none_open": "(tidak ada antrean terbuka yang melewati batas)",
        "none_late": "(tidak ada jawaban terlambat)",
        "now": "per", "period": "periode", "agent": "agen", "all": "semua antrean terbuka; jawaban terlambat 7 hari terakhir",
        "cols": ["No", "Menunggu sejak", "Terlambat", "Pelanggan", "Agen", "Kanal", "Kutipan", "Thread"],
        "hint": "Transkrip: chatkpi thread THREAD",
    },
    "en": {
        "open": "Open queues past the 1-working-day deadline",
        "late": "Late answers (after the 1-working-day deadline)",
        "none_open": "(no open queue past its deadline)",
        "none_late": "(no late answer)",
        "now": "as of", "period": "period", "agent": "agent", "all": "every open queue; late answers of the last 7 days",
        "cols": ["No", "Waiting since", "Overdue by", "Customer", "Agent", "Channel", "Excerpt", "Thread"],
        "hint": "Transcript: chatkpi thread THREAD",
    },
}
CSV_COLUMNS = ["breach_kind", "pair_id", "thread_id", "thread_name", "channel", "customer_key", "agent_id", "question_at_local",
               "sla_deadline_at", "reply_at", "waiting_seconds", "overdue_seconds", "excerpt"]


def _short(text, width: int) -> str:
    text = " ".join(str(text).split()) if isinstance(text, str) else ""
    return text if len(text) <= width else text[: width - 1] + "…"


def breach_rows(frame: pd.DataFrame, lang: str = "id") -> list[list[str]]:
    """The displayed cells of a breach list (one list per row)."""
    rows = []
    for i, r in enumerate(frame.itertuples(index=False), start=1):
        customer = r.thread_name if isinstance(r.thread_name, str) and r.thread_name else r.customer_key
        rows.append([str(i), pd.Timestamp(r.question_at_local).strftime("%d/%m/%Y %H.%M"), human_duration(r.overdue_seconds, lang),
                     _short(customer, 28), r.agent_id if isinstance(r.agent_id, str) else "—", r.channel,
                     _short(r.excerpt, 48), r.thread_id])
    return rows


def _table(header: list[str], rows: list[list[str]], md: bool) -> list[str]:
    if md:
        esc = [[c.replace("|", "\\|") for c in row] for row in rows]
        return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)] + ["| " + " | ".join(r) + " |" for r in esc]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()  # noqa: E731
    return [line(header), line(["-" * w for w in widths])] + [line(r) for r in rows]


def render_breaches(result, fmt: str = "table", lang: str = "id", timezone: str = "Asia/Jakarta") -> str:
    """``table`` / ``md``: two lists with a heading each; ``csv`` / ``json``: one row per breach,
    open ones first (keys as in bi.v_sla_breaches; times UTC ISO 8601 except question_at_local)."""
    if fmt in ("csv", "json"):
        both = pd.concat([result.open, result.late], ignore_index=True)
        out = both.reindex(columns=CSV_COLUMNS).copy()
        for column in ("sla_deadline_at", "reply_at"):
            out[column] = out[column].map(lambda v: pd.Timestamp(v).isoformat() if pd.notna(v) else None)
        out["question_at_local"] = out["question_at_local"].map(lambda v: pd.Timestamp(v).isoformat())
        out = out.astype(object).where(out.notna(), None)
        if fmt == "csv":
            return out.to_csv(index=False, lineterminator="\n").rstrip("\n")
        return json.dumps({"now": result.now.isoformat(), "breaches": out.to_dict(orient="records")}, ensure_ascii=False, indent=1)
    t = BREACH_TEXT[lang]
    now_local = pd.Timestamp(result.now).tz_convert(timezone).strftime("%d/%m/%Y %H.%M")
    scope = f"{t['period']} {result.period.label}" if result.period else t["all"]
    if result.agent_id:
        scope += f", {t['agent']} {result.agent_id}"
    md = fmt == "md"
    lines: list[str] = []
    for key, frame in (("open", result.open), ("late", result.late)):
        title = f"{t[key]} ({len(frame)}) — {t['now']} {now_local}, {scope}"
        lines.append(f"## {title}" if md else title)
        if md:
            lines.append("")
        lines.extend(_table(t["cols"], breach_rows(frame, lang), md) if len(frame) else [t["none_" + key]])
        lines.append("")
    lines.append(t["hint"])
    return "\n".join(lines)


def render_transcript(transcript, lang: str = "id") -> str:
    """The thread's messages in order; each queue's first message is marked ``▶ Qn`` and its
    answer ``◀ An`` with the business-time wait (and ``TERLAMBAT``/``LATE`` past the deadline)."""
    info, pairs = transcript.thread, transcript.pairs
    number = dict(zip(pairs["pair_id"], pairs["number"]))
    by_id = pairs.set_index("pair_id")
    late_word, open_word = ("TERLAMBAT", "BELUM DIJAWAB") if lang == "id" else ("LATE", "UNANSWERED")
    head = (f"thread {info['thread_id']} — {info['thread_name']} ({info['channel']}), "
            f"{'pelanggan' if lang == 'id' else 'customer'} {info['customer_key']}, "
            f"{'agen utama' if lang == 'id' else 'primary agent'} {info['primary_agent_id'] or '—'}")
    lines = [head, ""]
    for m in transcript.messages.itertuples(index=False):
        mark = "     "
        if isinstance(m.opens_pair_id, str) and m.opens_pair_id in number:
            mark = f"▶ Q{number[m.opens_pair_id]:<2}"
        elif isinstance(m.answers_pair_id, str) and m.answers_pair_id in number:
            mark = f"◀ A{number[m.answers_pair_id]:<2}"
        text = m.text if isinstance(m.text, str) and m.text else ("<media>" if m.message_type == "media" else "")
        when = pd.Timestamp(m.sent_at_local).strftime("%d/%m/%Y %H.%M")
        suffix = ""
        if mark.startswith("◀"):
            p = by_id.loc[m.answers_pair_id]
            met = p["within_1_working_day"]
            late = met is not None and not pd.isna(met) and not bool(met)
            suffix = f"   [{human_duration(p['business_seconds'], lang)}{', ' + late_word if late else ''}]"
        lines.append(f"{mark} {when}  {m.sender_label if isinstance(m.sender_label, str) else ''} ({m.sender_role}): {' '.join(text.split())}{suffix}")
    unanswered = pairs[pairs["status"] == "unanswered"]
    if len(unanswered):
        lines.append("")
        lines.extend(f"Q{int(p.number)}: {open_word}" for p in unanswered.itertuples(index=False))
    return "\n".join(lines)
