"""Reports people read: seed 000's reply-duration table ("Tabel Durasi Balas Sales").

Figures come from ``marts.fct_reply_pair``; the table is computed by
:func:`reply_duration_table` (a DataFrame, so tests and other renderers share it) and rendered
as a plain-text table or Markdown.
"""

from __future__ import annotations

import dataclasses

import pandas as pd

from kpi_transforms.core.numbers import id_number, round_half_up
from kpi_transforms.present.scorecards import fmt_compact
from kpi_transforms.present.texts import EN_DURATION_COLUMNS

COLUMNS = ["Metrik", "Hasil", "Satuan", "Dasar Perhitungan", "Catatan"]


def humanise_seconds(seconds: float) -> tuple[str, str]:
    """(figure, unit) in detik / menit / jam, the way seed 000 writes them."""
    if seconds < 60:
        return id_number(seconds), "detik"
    if seconds < 3600:
        return id_number(seconds / 60, 1), "menit"
    return id_number(seconds / 3600, 1), "jam"


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
    """SPEC 6 denominator of response_rate_1wd, its hits and the pending queues beside it, read
    from the flags stored on ``marts.fct_reply_pair`` (``facts.reply_pairs.rate_flags``)."""
    if pairs.empty:
        return 0, 0, 0
    counted = pairs["is_counted_1wd"].astype("boolean").fillna(False).astype(bool)
    within = counted & pairs["within_1_working_day"].astype("boolean").fillna(False).astype(bool)
    pending = pairs["is_pending_1wd"].astype("boolean").fillna(False).astype(bool)
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


def _en_seconds(seconds: float) -> tuple[str, str]:
    if seconds < 60:
        return fmt_compact(seconds, "en", 0), "seconds"
    if seconds < 3600:
        return f"{round_half_up(seconds / 60, 1):,.1f}", "minutes"
    return f"{round_half_up(seconds / 3600, 1):,.1f}", "hours"


def reply_duration_table_en(pairs: pd.DataFrame) -> pd.DataFrame:
    """Seed 000 table 1 in English (same figures as ``reports.reply_duration_table``)."""
    s = summarise_reply_durations(pairs)
    rows = []
    if s.mean_seconds is None:
        rows.append(["Average sales reply time", "no data", "", "0 valid reply pairs", "No valid sales reply in the period"])
    else:
        rows.append(["Average sales reply time", f"{round_half_up(s.mean_seconds / 60, 1):,.1f}", "minutes",
                     f"{s.n_valid:,} valid reply pairs", "Every customer message queue to the first sales reply (calendar time)"])
        for label, pair, note in (
            ("Fastest reply", s.fastest, "Fastest pair; ties: earliest question"),
            ("Slowest reply", s.slowest, "Longest gap, nights, holidays and weekends included"),
        ):
            figure, unit = _en_seconds(float(pair["calendar_seconds"]))
            name = pair.get("thread_name")
            name = name if isinstance(name, str) and name else pair["customer_id"]
            rows.append([label, figure, unit, f"Thread: {pair['thread_id']} ({name})", note])
    if s.n_counted:
        rows.append(["Answered within 1 working day", f"{round_half_up(100.0 * s.n_within_1wd / s.n_counted, 1):,.1f}", "%",
                     f"{s.n_within_1wd:,} of {s.n_counted:,} queues", f"{s.n_pending} queue(s) still pending (deadline not passed), not counted"])
    else:
        rows.append(["Answered within 1 working day", "no data", "", "0 queues", f"{s.n_pending} queue(s) still pending"])
    return pd.DataFrame(rows, columns=EN_DURATION_COLUMNS)
