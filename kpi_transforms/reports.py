"""Reports people read: seed 000's reply-duration table ("Tabel Durasi Balas Sales").

Figures come from ``marts.fct_reply_pair``; the table is computed by
:func:`reply_duration_table` (a DataFrame, so tests and other renderers share it) and rendered
as a plain-text table or Markdown.
"""

from __future__ import annotations

import dataclasses
import decimal

import pandas as pd

from kpi_transforms.config import Config
from kpi_transforms.facts import PAIR_COLUMNS
from kpi_transforms.periods import Period, parse_period
from kpi_transforms.warehouse import Warehouse

COLUMNS = ["Metrik", "Hasil", "Satuan", "Dasar Perhitungan", "Catatan"]


def round_half_up(value: float, digits: int = 0) -> decimal.Decimal:
    """Displayed figures round half up (SPEC 8), not to even."""
    quant = decimal.Decimal(1).scaleb(-digits)
    return decimal.Decimal(repr(float(value))).quantize(quant, rounding=decimal.ROUND_HALF_UP)


def id_number(value: float, digits: int = 0) -> str:
    """Indonesian number format: 18,4 and 1.250."""
    text = f"{round_half_up(value, digits):,.{digits}f}"
    return text.replace(",", "_").replace(".", ",").replace("_", ".")


def humanise_seconds(seconds: float) -> tuple[str, str]:
    """(figure, unit) in detik / menit / jam, the way seed 000 writes them."""
    if seconds < 60:
        return id_number(seconds), "detik"
    if seconds < 3600:
        return id_number(seconds / 60, 1), "menit"
    return id_number(seconds / 3600, 1), "jam"


def period_pairs(warehouse: Warehouse, period: Period, timezone: str, agent_id: str | None = None) -> pd.DataFrame:
    """Pairs whose question's local date lies in the period (SPEC 8), with the thread name."""
    sql = (
        "select p.*, t.thread_name from marts.fct_reply_pair p"
        " left join marts.fct_thread t on t.thread_id = p.thread_id"
        " where p.question_at_local >= :lo and p.question_at_local < :hi"
    )
    params: dict[str, object] = {"lo": pd.Timestamp(period.start).to_pydatetime(), "hi": pd.Timestamp(period.end).to_pydatetime()}
    if agent_id:
        sql += " and p.agent_id = :agent"
        params["agent"] = agent_id
    frame = warehouse.read_df(sql, params)
    if frame.empty:
        return pd.DataFrame(columns=PAIR_COLUMNS + ["thread_name"])
    for col in ("question_at", "reply_at", "sla_deadline_at", "effective_start_at", "first_auto_reply_at"):
        frame[col] = pd.to_datetime(frame[col], utc=True)
    return frame


@dataclasses.dataclass(frozen=True)
class ReplyDurationSummary:
    n_valid: int
    mean_seconds: float | None
    fastest: pd.Series | None
    slowest: pd.Series | None
    n_counted: int
    n_within_1wd: int
    n_pending: int


def summarise_reply_durations(pairs: pd.DataFrame) -> ReplyDurationSummary:
    valid = pairs[pairs["is_valid"].astype(bool)] if len(pairs) else pairs
    mean = float(valid["calendar_seconds"].astype(float).mean()) if len(valid) else None
    fastest = slowest = None
    if len(valid):
        ordered = valid.assign(_q=pd.to_datetime(valid["question_at"], utc=True))
        fastest = ordered.sort_values(["calendar_seconds", "_q", "pair_id"], ascending=[True, True, True], kind="stable").iloc[0]
        slowest = ordered.sort_values(["calendar_seconds", "_q", "pair_id"], ascending=[False, True, True], kind="stable").iloc[0]
    counted, within, pending = _response_rate_counts(pairs)
    return ReplyDurationSummary(len(valid), mean, fastest, slowest, counted, within, pending)


def _response_rate_counts(pairs: pd.DataFrame) -> tuple[int, int, int]:
    """SPEC 6 denominators: answered valid queues plus unanswered queues past their deadline
    (question not in a closed period); pending queues are counted apart."""
    if pairs.empty:
        return 0, 0, 0
    answered_valid = (pairs["status"] == "answered") & pairs["is_valid"].astype(bool)
    unanswered = pairs["status"] == "unanswered"
    flag = pairs["within_1_working_day"]
    pending = unanswered & flag.isna()
    # an unanswered queue is invalid only because it has no reply; exclude closed-period ones:
    # effective_start_at is null when the question can never be worked on, and a closed-period
    # question is marked by is_valid false even once answered, so use the closed flag if present.
    closed = pairs["is_in_closed_period"].astype(bool) if "is_in_closed_period" in pairs else pd.Series(False, index=pairs.index)
    past_deadline = unanswered & flag.notna() & ~closed
    counted = answered_valid | past_deadline
    within = counted & flag.fillna(False).astype(bool)
    return int(counted.sum()), int(within.sum()), int(pending.sum())


def reply_duration_table(pairs: pd.DataFrame) -> pd.DataFrame:
    """Seed 000 table 1 for the given pairs: average, fastest, slowest, within 1 working day."""
    s = summarise_reply_durations(pairs)
    rows = []
    if s.mean_seconds is None:
        rows.append(["Rata-rata durasi balas sales", "tidak ada data", "", "0 pasangan balasan valid", "Belum ada balasan sales yang valid pada periode ini"])
    else:
        rows.append(
            ["Rata-rata durasi balas sales", id_number(s.mean_seconds / 60, 1), "menit", f"{id_number(s.n_valid)} pasangan balasan valid",
             "Dihitung dari semua antrian pesan customer ke balasan pertama sales (waktu kalender)"]
        )
        for label, pair, note in (
            ("Durasi balas paling cepat", s.fastest, "Pasangan tercepat; seri: pertanyaan paling awal"),
            ("Durasi balas paling lama", s.slowest, "Jeda terpanjang, termasuk malam, libur & akhir pekan"),
        ):
            figure, unit = humanise_seconds(float(pair["calendar_seconds"]))
            name = pair.get("thread_name")
            name = name if isinstance(name, str) and name else pair["customer_id"]
            rows.append([label, figure, unit, f"Thread: {pair['thread_id']} ({name})", note])
    if s.n_counted:
        rows.append(
            ["Dibalas dalam 1 hari kerja", id_number(100.0 * s.n_within_1wd / s.n_counted, 1), "%",
             f"{id_number(s.n_within_1wd)} dari {id_number(s.n_counted)} antrian",
             f"{s.n_pending} antrian masih menunggu (belum lewat tenggat), tidak dihitung"]
        )
    else:
        rows.append(["Dibalas dalam 1 hari kerja", "tidak ada data", "", "0 antrian", f"{s.n_pending} antrian masih menunggu"])
    return pd.DataFrame(rows, columns=COLUMNS)


def render_table(frame: pd.DataFrame, fmt: str = "table", title: str | None = None) -> str:
    cells = [list(map(str, frame.columns))] + [[str(v) for v in row] for row in frame.itertuples(index=False)]
    if fmt == "md":
        lines = [f"### {title}", ""] if title else []
        lines.append("| " + " | ".join(cells[0]) + " |")
        lines.append("|" + "|".join("---" for _ in cells[0]) + "|")
        lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in cells[1:]]
        return "\n".join(lines)
    widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]))]
    lines = [title, ""] if title else []
    for n, row in enumerate(cells):
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def reply_duration_report(
    warehouse: Warehouse, config: Config, period_text: str, *, agent_id: str | None = None, fmt: str = "table"
) -> str:
    period = parse_period(period_text)
    warehouse.init()
    pairs = period_pairs(warehouse, period, config.timezone, agent_id)
    who = f", agent {agent_id}" if agent_id else ""
    return render_table(reply_duration_table(pairs), fmt, title=f"Tabel Durasi Balas Sales — periode {period.label}{who}")
