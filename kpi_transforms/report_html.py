"""Human-readable reports: one self-contained HTML page (and the same tables as ``.xlsx``).

The page holds seed 000's reply-duration table, the scorecard(s) and four charts drawn here as
inline SVG: the first-response-time histogram, the weekday x hour message heatmap, the monthly
trend and the agents side by side. No script, no web font, no external fetch: a Content
Security Policy forbids every load, so the file opens the same offline. Labels are Indonesian
by default, English with ``lang="en"``.

Figures come from the warehouse: the seed-000 table from ``kpi_transforms.reports``, the
charts from the ``bi`` views (so BI tools and the report agree), the scorecard from
``kpi_transforms.scorecards``.
"""

from __future__ import annotations

import dataclasses
import html
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from kpi_transforms.config import Config
from kpi_transforms.errors import ChatKpiError
from kpi_transforms.periods import Period, _add_months, parse_period
from kpi_transforms.reports import (
    period_pairs,
    reply_duration_table,
    round_half_up,
    summarise_reply_durations,
)
from kpi_transforms.scorecards import (
    SCORECARD_SCHEMA,
    ScorecardKpi,
    ScorecardResult,
    ScorecardTemplate,
    compute_scorecards,
    fmt_compact,
    iter_scorecards,
    load_templates,
    scorecard_display,
    scorecard_totals,
    total_line,
)
from kpi_transforms.warehouse import Warehouse

WEEKDAYS = {"id": ["Sen", "Sel", "Rab", "Kam", "Jum", "Sab", "Min"], "en": ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]}

TEXT = {
    "id": {
        "title": "Laporan KPI Chat — periode {period}", "team": "seluruh tim", "agent": "agen {agent}",
        "generated": "Dibuat {at} · zona waktu {tz} · sumber: gudang data chatkpi",
        "durations": "Tabel Durasi Balas Sales", "scorecard": "Scorecard", "charts": "Grafik",
        "frt": "Distribusi First Response Time (jam kerja, pasangan valid)",
        "heatmap": "Volume pesan per hari dan jam (waktu lokal, seluruh tim)",
        "trend": "Tren bulanan", "trend_frt": "FRT rata-rata (menit jam kerja)",
        "trend_rate": "% dibalas ≤ 1 hari kerja", "agents": "Perbandingan agen",
        "agents_frt": "FRT rata-rata (menit jam kerja)", "agents_rate": "% dibalas ≤ 1 hari kerja",
        "agents_volume": "Antrian pelanggan", "pairs": "pasangan", "messages": "pesan",
        "no_data": "tidak ada data", "no_scorecard": "Belum ada scorecard tersimpan untuk periode ini: jalankan chatkpi scorecard --period {period}.",
        "team_short": "tim", "footer": "chatkpi · angka dibulatkan setengah ke atas · periode = tanggal lokal awal kejadian",
        "heat_legend": "Warna paling gelap = {n} pesan dalam satu jam; abu-abu = tidak ada pesan.",
        "summary_cols": ["Template", "Lingkup", "Total poin", "Bobot dengan data / total", "% dari bobot dengan data", "KPI tanpa data"],
    },
    "en": {
        "title": "Chat KPI report — period {period}", "team": "whole team", "agent": "agent {agent}",
        "generated": "Generated {at} · time zone {tz} · source: chatkpi warehouse",
        "durations": "Sales reply durations", "scorecard": "Scorecard", "charts": "Charts",
        "frt": "First response time distribution (business hours, valid pairs)",
        "heatmap": "Messages by weekday and hour (local time, whole team)",
        "trend": "Monthly trend", "trend_frt": "Average FRT (business minutes)",
        "trend_rate": "% answered ≤ 1 working day", "agents": "Agents side by side",
        "agents_frt": "Average FRT (business minutes)", "agents_rate": "% answered ≤ 1 working day",
        "agents_volume": "Customer queues", "pairs": "pairs", "messages": "messages",
        "no_data": "no data", "no_scorecard": "No scorecard stored for this period yet: run chatkpi scorecard --period {period}.",
        "team_short": "team", "footer": "chatkpi · figures rounded half up · periods = local date of the start event",
        "heat_legend": "Darkest = {n} messages in one hour; grey = no message.",
        "summary_cols": ["Template", "Scope", "Total points", "Weights with data / total", "% of weights with data", "KPIs without data"],
    },
}
EN_DURATION_COLUMNS = ["Metric", "Result", "Unit", "Basis", "Note"]


# -- data -------------------------------------------------------------------------------------


@dataclasses.dataclass
class ReportData:
    period: Period
    agent_id: str | None
    lang: str
    timezone: str
    durations: pd.DataFrame  # seed-000 table (display strings)
    scorecards: ScorecardResult | None
    frt: pd.DataFrame  # bucket_label, n_pairs, pct_of_pairs
    heatmap: np.ndarray  # 7 x 24 message counts (Monday first)
    trend: pd.DataFrame  # period_label, avg_business_minutes, pct_within_1_working_day, n_valid_pairs
    agents: pd.DataFrame  # agent_id, avg_business_minutes, pct_within_1_working_day, n_queues
    generated_at: pd.Timestamp

    @property
    def scope(self) -> str:
        t = TEXT[self.lang]
        return t["agent"].format(agent=self.agent_id) if self.agent_id else t["team"]


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


def stored_scorecards(
    warehouse: Warehouse, period: Period, agent_id: str | None = None, template: str | None = None
) -> ScorecardResult | None:
    """The scorecards already in ``marts.fct_scorecard`` for the period (read-only), or None."""
    sql = "select * from marts.fct_scorecard where period_type = :t and period_start = :s"
    params: dict[str, object] = {"t": period.period_type, "s": period.start}
    if template:
        sql += " and template = :tpl"
        params["tpl"] = template
    rows = warehouse.read_df(sql, params)
    if agent_id is not None:
        rows = rows[rows["agent_id"] == agent_id]
    if rows.empty:
        return None
    rows = rows[SCORECARD_SCHEMA.names].copy()
    rows["agent_id"] = rows["agent_id"].astype(object).where(rows["agent_id"].notna(), None)
    known = load_templates()
    templates = []
    for name in dict.fromkeys(rows["template"]):
        if name in known:
            tpl = known[name]
            order = {c: i for i, c in enumerate(tpl.kpi_codes)}
            templates.append(tpl)
        else:
            part = rows[rows["template"] == name]
            tpl = ScorecardTemplate(name, tuple(ScorecardKpi(c, 0.0, "higher", 1.0) for c in dict.fromkeys(part["kpi_code"])))
            templates.append(tpl)
            order = {c: i for i, c in enumerate(tpl.kpi_codes)}
        mask = rows["template"] == name
        rows.loc[mask, "_order"] = rows.loc[mask, "kpi_code"].map(order).fillna(99)
    rows["_team"] = rows["agent_id"].isna()
    rows = rows.sort_values(["template", "_team", "agent_id", "_order"], ascending=[True, False, True, True], kind="stable")
    rows = rows.drop(columns=["_order", "_team"]).reset_index(drop=True)
    return ScorecardResult(period, templates, rows, scorecard_totals(rows))


def collect_report_data(
    warehouse: Warehouse,
    config: Config,
    period_text: str,
    *,
    agent_id: str | None = None,
    lang: str = "id",
    scorecards: ScorecardResult | None | str = "stored",
    template: str | None = None,
) -> ReportData:
    """Everything a report shows. ``scorecards="stored"`` reads ``marts.fct_scorecard``
    (nothing is written); pass a computed :class:`ScorecardResult` to show that instead."""
    if lang not in TEXT:
        raise ChatKpiError(f"unknown report language {lang!r}: use id or en")
    period = parse_period(period_text)
    warehouse.init()
    pairs = period_pairs(warehouse, period, config.timezone, agent_id)
    durations = reply_duration_table(pairs) if lang == "id" else reply_duration_table_en(pairs)
    if isinstance(scorecards, str):
        scorecards = stored_scorecards(warehouse, period, agent_id, template)

    scope = "is_team" if agent_id is None else "(not is_team and agent_id = :a)"
    agent_param = {} if agent_id is None else {"a": agent_id}
    params = {"t": period.period_type, "s": period.start, **agent_param}
    frt = warehouse.read_df(
        f"select bucket_order, bucket_label, n_pairs, pct_of_pairs from bi.v_frt_distribution"
        f" where period_type = :t and period_start = :s and {scope} order by bucket_order",
        params,
    )
    cells = warehouse.read_df(
        "select weekday_iso, hour_local, sum(n_messages) as n from bi.v_volume_heatmap"
        " where period_type = :t and period_start = :s group by weekday_iso, hour_local",
        {"t": period.period_type, "s": period.start},
    )
    heat = np.zeros((7, 24), dtype=float)
    for r in cells.itertuples(index=False):
        heat[int(r.weekday_iso) - 1, int(r.hour_local)] = float(r.n)
    trend = warehouse.read_df(
        f"select period_start, period_label, avg_business_seconds / 60.0 as avg_business_minutes,"
        f" pct_within_1_working_day, n_valid_pairs from bi.v_reply_durations"
        f" where period_type = 'month' and period_start >= :lo and period_start < :hi and {scope} order by period_start",
        {"lo": _add_months(period.end, -12), "hi": period.end, **agent_param},
    )
    agents = warehouse.read_df(
        "select agent_id, avg_business_seconds / 60.0 as avg_business_minutes, pct_within_1_working_day, n_queues"
        " from bi.v_reply_durations where period_type = :t and period_start = :s and not is_team order by agent_id",
        {"t": period.period_type, "s": period.start},
    )
    return ReportData(period, agent_id, lang, config.timezone, durations, scorecards, frt, heat, trend, agents,
                      pd.Timestamp.now(tz=config.timezone))


# -- SVG --------------------------------------------------------------------------------------

PALETTE = {"bar": "#2f6db5", "bar2": "#e07b39", "grid": "#d9dee5", "axis": "#5b6470", "text": "#1f2933", "empty": "#f4f6f8"}


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _nice_max(value: float, integer: bool = False) -> float:
    """A round axis maximum; with ``integer`` a multiple of 4, so the 4 grid steps are whole."""
    if value <= 0 or not np.isfinite(value):
        return 4.0 if integer else 1.0
    if integer and value <= 40:
        return float(max(4, int(np.ceil(value / 4.0)) * 4))
    exp = 10 ** np.floor(np.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * exp:
            return float(step * exp)
    return float(10 * exp)


def _num(value: float, lang: str, digits: int = 1) -> str:
    return fmt_compact(float(value), lang, digits)


def _svg_open(width: int, height: int, label: str) -> str:
    return (f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
            f'aria-label="{_e(label)}" font-family="sans-serif" font-size="12">')


def _empty_svg(label: str, lang: str, width: int = 640, height: int = 120) -> str:
    return (_svg_open(width, height, label) + f'<rect width="{width}" height="{height}" fill="{PALETTE["empty"]}"/>'
            f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle" fill="{PALETTE["axis"]}">{_e(TEXT[lang]["no_data"])}</text></svg>')


def svg_bar_chart(labels: Sequence[str], values: Sequence[float], *, label: str, lang: str = "id",
                  unit: str = "", color: str = PALETTE["bar"], width: int = 640, height: int = 260) -> str:
    """Vertical bars with value labels and a light grid."""
    vals = [0.0 if v is None or not np.isfinite(v) else float(v) for v in values]
    if not labels or sum(vals) == 0:
        return _empty_svg(label, lang, width)
    left, right, top, bottom = 44, 10, 16, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    vmax = _nice_max(max(vals), integer=all(float(v).is_integer() for v in vals))
    parts = [_svg_open(width, height, label)]
    for i in range(5):
        y = top + plot_h - plot_h * i / 4
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="{PALETTE["grid"]}"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="{PALETTE["axis"]}">{_e(_num(vmax * i / 4, lang))}</text>')
    slot = plot_w / len(vals)
    bar_w = max(4.0, slot * 0.7)
    for i, (name, v) in enumerate(zip(labels, vals)):
        h = plot_h * v / vmax
        x = left + slot * i + (slot - bar_w) / 2
        y = top + plot_h - h
        parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" fill="{color}">'
                     f'<title>{_e(name)}: {_e(_num(v, lang))}{_e(unit)}</title></rect>')
        parts.append(f'<text x="{x + bar_w / 2:.1f}" y="{y - 4:.1f}" text-anchor="middle" fill="{PALETTE["text"]}">{_e(_num(v, lang))}</text>')
        parts.append(f'<text x="{x + bar_w / 2:.1f}" y="{height - bottom + 16}" text-anchor="middle" fill="{PALETTE["axis"]}">{_e(name)}</text>')
    parts.append(f'<line x1="{left}" y1="{top + plot_h}" x2="{width - right}" y2="{top + plot_h}" stroke="{PALETTE["axis"]}"/>')
    parts.append("</svg>")
    return "".join(parts)


def svg_heatmap(grid: np.ndarray, *, label: str, lang: str = "id", width: int = 760, height: int = 230) -> str:
    """7 x 24 cells, darker = more messages; row = weekday, column = local hour."""
    if grid.sum() == 0:
        return _empty_svg(label, lang, width)
    left, top, right, bottom = 40, 10, 10, 24
    cw, ch = (width - left - right) / 24, (height - top - bottom) / 7
    vmax = float(grid.max())
    parts = [_svg_open(width, height, label)]
    for d in range(7):
        parts.append(f'<text x="{left - 6}" y="{top + ch * d + ch / 2 + 4:.1f}" text-anchor="end" fill="{PALETTE["axis"]}">{WEEKDAYS[lang][d]}</text>')
        for h in range(24):
            n = grid[d, h]
            share = n / vmax if vmax else 0.0
            fill = PALETTE["empty"] if n == 0 else _blend("#dbe8f6", "#123f7a", share)
            parts.append(f'<rect x="{left + cw * h:.1f}" y="{top + ch * d:.1f}" width="{cw - 1:.1f}" height="{ch - 1:.1f}" fill="{fill}">'
                         f'<title>{WEEKDAYS[lang][d]} {h:02d}:00 — {int(n)} {TEXT[lang]["messages"]}</title></rect>')
    for h in range(0, 24, 2):
        parts.append(f'<text x="{left + cw * h + cw / 2:.1f}" y="{height - 8}" text-anchor="middle" fill="{PALETTE["axis"]}">{h:02d}</text>')
    parts.append("</svg>")
    parts.append(f'<p class="meta">{_e(TEXT[lang]["heat_legend"].format(n=int(vmax)))}</p>')
    return "".join(parts)


def _blend(a: str, b: str, t: float) -> str:
    t = min(max(t, 0.0), 1.0)
    ca = [int(a[i:i + 2], 16) for i in (1, 3, 5)]
    cb = [int(b[i:i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{round(x + (y - x) * t):02x}" for x, y in zip(ca, cb))


def svg_line_chart(labels: Sequence[str], values: Sequence[float | None], *, label: str, lang: str = "id",
                   unit: str = "", color: str = PALETTE["bar"], width: int = 360, height: int = 220, fixed_max: float | None = None) -> str:
    """A line with dots; gaps where a month has no value."""
    vals = [None if v is None or (isinstance(v, float) and not np.isfinite(v)) else float(v) for v in values]
    present = [v for v in vals if v is not None]
    if not labels or not present:
        return _empty_svg(label, lang, width)
    left, right, top, bottom, inset = 44, 14, 22, 40, 30
    plot_w, plot_h = width - left - right, height - top - bottom
    vmax = fixed_max or _nice_max(max(present))
    parts = [_svg_open(width, height, label)]
    for i in range(5):
        y = top + plot_h - plot_h * i / 4
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="{PALETTE["grid"]}"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="{PALETTE["axis"]}">{_e(_num(vmax * i / 4, lang, 0))}</text>')
    step = (plot_w - 2 * inset) / max(len(vals) - 1, 1)
    points, segment = [], []
    for i, v in enumerate(vals):
        x = left + inset + (step * i if len(vals) > 1 else (plot_w - 2 * inset) / 2)
        if v is None:
            if segment:
                points.append(segment)
            segment = []
            continue
        y = top + plot_h - plot_h * min(v, vmax) / vmax
        segment.append((x, y, v, labels[i]))
    if segment:
        points.append(segment)
    for seg in points:
        if len(seg) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y, _, _ in seg)
            parts.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2"/>')
        for x, y, v, name in seg:
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{color}"><title>{_e(name)}: {_e(_num(v, lang))}{_e(unit)}</title></circle>')
            parts.append(f'<text x="{x:.1f}" y="{y - 8:.1f}" text-anchor="middle" fill="{PALETTE["text"]}">{_e(_num(v, lang))}</text>')
    for i, name in enumerate(labels):
        x = left + inset + (step * i if len(labels) > 1 else (plot_w - 2 * inset) / 2)
        parts.append(f'<text x="{x:.1f}" y="{height - bottom + 16}" text-anchor="middle" fill="{PALETTE["axis"]}">{_e(name)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def svg_hbar_chart(labels: Sequence[str], values: Sequence[float | None], *, label: str, lang: str = "id",
                   unit: str = "", color: str = PALETTE["bar"], width: int = 300, fixed_max: float | None = None) -> str:
    """Horizontal bars, one per agent: the agents side by side on one metric."""
    vals = [None if v is None or (isinstance(v, float) and not np.isfinite(v)) else float(v) for v in values]
    present = [v for v in vals if v is not None]
    if not labels or not present:
        return _empty_svg(label, lang, width)
    row_h, left, right, top = 28, 70, 50, 8
    height = top * 2 + row_h * len(labels)
    vmax = fixed_max or _nice_max(max(present))
    parts = [_svg_open(width, height, label)]
    for i, (name, v) in enumerate(zip(labels, vals)):
        y = top + row_h * i
        parts.append(f'<text x="{left - 6}" y="{y + row_h / 2 + 4:.1f}" text-anchor="end" fill="{PALETTE["text"]}">{_e(name)}</text>')
        if v is None:
            parts.append(f'<text x="{left + 4}" y="{y + row_h / 2 + 4:.1f}" fill="{PALETTE["axis"]}">—</text>')
            continue
        w = (width - left - right) * min(v, vmax) / vmax
        parts.append(f'<rect x="{left}" y="{y + 4}" width="{max(w, 1):.1f}" height="{row_h - 8}" fill="{color}">'
                     f'<title>{_e(name)}: {_e(_num(v, lang))}{_e(unit)}</title></rect>')
        parts.append(f'<text x="{left + w + 4:.1f}" y="{y + row_h / 2 + 4:.1f}" fill="{PALETTE["text"]}">{_e(_num(v, lang))}{_e(unit)}</text>')
    parts.append("</svg>")
    return "".join(parts)


# -- HTML -------------------------------------------------------------------------------------

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2933;margin:0;background:#fff}
main{max-width:1180px;margin:0 auto;padding:24px 28px 40px}
h1{font-size:26px;margin:0 0 4px}h2{font-size:20px;margin:32px 0 10px;border-bottom:2px solid #e4e8ee;padding-bottom:4px}
h3{font-size:16px;margin:20px 0 6px}.meta{color:#5b6470;margin:0}
table{border-collapse:collapse;width:100%;font-size:14px;margin:6px 0}
th,td{border:1px solid #d9dee5;padding:6px 8px;text-align:left;vertical-align:top}
th{background:#eef3f9}td.num{text-align:right;white-space:nowrap}td.nowrap{white-space:nowrap}tr.nodata td{color:#8a94a3}
details{margin:10px 0}summary{cursor:pointer}summary h3{display:inline;margin:0}
.total{font-weight:600;margin:6px 0 0}.missing{color:#8a5a00;margin:2px 0 0}
figure{margin:14px 0 22px}figcaption{font-weight:600;margin-bottom:6px}
svg.chart{max-width:100%;height:auto;background:#fff}
.row{display:flex;flex-wrap:wrap;gap:18px}.row figure{flex:1 1 300px;margin:8px 0}
footer{color:#8a94a3;font-size:12px;margin-top:36px}
"""
NUMERIC_COLUMNS = {"Hasil", "Result", "Bobot", "Weight", "Capaian %", "Achievement %", "Skor", "Score", "Total poin",
                   "Total points", "% dari bobot dengan data", "% of weights with data", "KPI tanpa data", "KPIs without data"}
NOWRAP_COLUMNS = {"Target", "Nilai", "Value", "Satuan", "Unit", "Bobot dengan data / total", "Weights with data / total"}


def html_table(frame: pd.DataFrame, nodata_column: str | None = None) -> str:
    head = "".join(f"<th>{_e(c)}</th>" for c in frame.columns)
    rows = []
    for record in frame.to_dict("records"):
        cls = ' class="nodata"' if nodata_column and record.get(nodata_column) in ("—", "") else ""
        cells = "".join(
            f'<td class="num">{_e(v)}</td>' if c in NUMERIC_COLUMNS
            else f'<td class="nowrap">{_e(v)}</td>' if c in NOWRAP_COLUMNS else f"<td>{_e(v)}</td>"
            for c, v in record.items()
        )
        rows.append(f"<tr{cls}>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def scorecard_summary(result: ScorecardResult, lang: str = "id") -> pd.DataFrame:
    """One line per scorecard (template x team / agent): points, covered weights, percentage."""
    t = TEXT[lang]
    rows = []
    for tpl, agent, _rows, total in iter_scorecards(result):
        has = total["total_points"] is not None and not pd.isna(total["total_points"])
        rows.append([
            tpl.name, t["agent"].format(agent=agent) if agent else t["team"],
            fmt_compact(total["total_points"], lang, 2) if has else "—",
            f"{fmt_compact(total['weights_with_data'], lang)} / {fmt_compact(total['weights_total'], lang)}",
            fmt_compact(total["total_pct_of_covered"], lang, 1) if has else "—",
            str(len(total["kpis_without_data"])),
        ])
    return pd.DataFrame(rows, columns=t["summary_cols"])


def _scorecard_html(data: ReportData) -> str:
    """A summary line per scorecard, then each scorecard (team ones open, agents folded)."""
    t = TEXT[data.lang]
    if data.scorecards is None or data.scorecards.rows.empty:
        return f"<p>{_e(t['no_scorecard'].format(period=data.period.label))}</p>"
    parts = [html_table(scorecard_summary(data.scorecards, data.lang))]
    for tpl, agent, rows, total in iter_scorecards(data.scorecards):
        who = t["agent"].format(agent=agent) if agent else t["team"]
        display = scorecard_display(rows, tpl, data.lang)
        value_col = display.columns[3]
        lines = total_line(total, data.lang).split("\n")
        opened = " open" if agent is None or data.agent_id else ""
        parts.append(f"<details{opened}><summary><h3>{_e(tpl.name)} — {_e(who)}</h3></summary>")
        if tpl.description(data.lang) != tpl.name:
            parts.append(f'<p class="meta">{_e(tpl.description(data.lang))}</p>')
        parts.append(html_table(display, nodata_column=value_col))
        parts.append(f'<p class="total">{_e(lines[0])}</p>')
        parts += [f'<p class="missing">{_e(line)}</p>' for line in lines[1:]]
        parts.append("</details>")
    return "".join(parts)


def render_html(data: ReportData, focus: str = "reply-durations") -> str:
    """The whole report as one self-contained HTML document."""
    t = TEXT[data.lang]
    lang = data.lang
    frt_svg = svg_bar_chart(list(data.frt["bucket_label"]), list(data.frt["n_pairs"].astype(float)),
                            label=t["frt"], lang=lang, unit=f" {t['pairs']}")
    heat_svg = svg_heatmap(data.heatmap, label=t["heatmap"], lang=lang)
    trend_labels = list(data.trend["period_label"])
    trend_frt = svg_line_chart(trend_labels, list(data.trend["avg_business_minutes"]), label=t["trend_frt"], lang=lang, unit=" min")
    trend_rate = svg_line_chart(trend_labels, list(data.trend["pct_within_1_working_day"]), label=t["trend_rate"], lang=lang,
                                unit=" %", color=PALETTE["bar2"], fixed_max=100.0)
    names = list(data.agents["agent_id"])
    agents_frt = svg_hbar_chart(names, list(data.agents["avg_business_minutes"]), label=t["agents_frt"], lang=lang, unit=" min")
    agents_rate = svg_hbar_chart(names, list(data.agents["pct_within_1_working_day"]), label=t["agents_rate"], lang=lang,
                                 unit=" %", color=PALETTE["bar2"], fixed_max=100.0)
    agents_volume = svg_hbar_chart(names, list(data.agents["n_queues"].astype(float)), label=t["agents_volume"], lang=lang,
                                   color="#4f9a6a")
    durations = (f'<section id="reply-durations"><h2>{_e(t["durations"])}</h2>'
                 f"{html_table(data.durations)}</section>")
    scorecard = f'<section id="scorecard"><h2>{_e(t["scorecard"])}</h2>{_scorecard_html(data)}</section>'
    charts = (
        f'<section id="charts"><h2>{_e(t["charts"])}</h2>'
        f'<figure id="chart-frt"><figcaption>{_e(t["frt"])}</figcaption>{frt_svg}</figure>'
        f'<figure id="chart-heatmap"><figcaption>{_e(t["heatmap"])}</figcaption>{heat_svg}</figure>'
        f'<h3>{_e(t["trend"])}</h3><div class="row">'
        f'<figure id="chart-trend-frt"><figcaption>{_e(t["trend_frt"])}</figcaption>{trend_frt}</figure>'
        f'<figure id="chart-trend-rate"><figcaption>{_e(t["trend_rate"])}</figcaption>{trend_rate}</figure></div>'
        f'<h3>{_e(t["agents"])}</h3><div class="row" id="chart-agents">'
        f'<figure><figcaption>{_e(t["agents_frt"])}</figcaption>{agents_frt}</figure>'
        f'<figure><figcaption>{_e(t["agents_rate"])}</figcaption>{agents_rate}</figure>'
        f'<figure><figcaption>{_e(t["agents_volume"])}</figcaption>{agents_volume}</figure></div></section>'
    )
    body = scorecard + durations + charts if focus == "scorecard" else durations + charts + scorecard
    title = t["title"].format(period=data.period.label)
    generated = t["generated"].format(at=data.generated_at.strftime("%Y-%m-%d %H:%M"), tz=data.timezone)
    return (
        f'<!DOCTYPE html>\n<html lang="{lang}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">"
        f"<title>{_e(title)} — {_e(data.scope)}</title><style>{CSS}</style></head>"
        f'<body><main><header><h1>{_e(title)}</h1><p class="meta">{_e(data.scope)} · {_e(generated)}</p></header>'
        f'{body}<footer>{_e(t["footer"])}</footer></main></body></html>\n'
    )


# -- entry points -----------------------------------------------------------------------------


def report_data(
    warehouse: Warehouse, config: Config, kind: str, period_text: str, *, agent_id: str | None = None,
    template: str | None = None, lang: str = "id", templates_path: str | None = None,
) -> ReportData:
    """Data for ``chatkpi report <kind>``: the scorecard report computes and stores the
    scorecards (like ``chatkpi scorecard``); the reply-durations report only reads."""
    if kind == "scorecard":
        result = compute_scorecards(warehouse, config, period_text, template=template, agent_id=agent_id, templates_path=templates_path)
        return collect_report_data(warehouse, config, period_text, agent_id=agent_id, lang=lang, scorecards=result)
    return collect_report_data(warehouse, config, period_text, agent_id=agent_id, lang=lang, template=template)


def write_report(
    warehouse: Warehouse, config: Config, kind: str, period_text: str, fmt: str, out: str | Path | None, *,
    agent_id: str | None = None, template: str | None = None, lang: str = "id", templates_path: str | None = None,
) -> str:
    """``chatkpi report reply-durations|scorecard --format html|xlsx|table|md``: write ``out``
    (or return the text to print when ``out`` is None) and return what to print."""
    from kpi_transforms.reports import render_table
    from kpi_transforms.scorecards import render_scorecards

    if fmt == "xlsx" and not out:
        raise ChatKpiError("--format xlsx needs --out FILE.xlsx")
    if kind == "scorecard" and fmt in ("table", "md"):
        result = compute_scorecards(warehouse, config, period_text, template=template, agent_id=agent_id, templates_path=templates_path)
        text = render_scorecards(result, fmt, lang)
    elif kind == "reply-durations" and fmt in ("table", "md"):
        data = collect_report_data(warehouse, config, period_text, agent_id=agent_id, lang=lang)
        who = f", {data.scope}" if agent_id else ""
        text = render_table(data.durations, fmt, title=f"{TEXT[lang]['durations']} — {data.period.label}{who}")
    else:
        data = report_data(warehouse, config, kind, period_text, agent_id=agent_id, template=template, lang=lang,
                           templates_path=templates_path)
        if fmt == "xlsx":
            from kpi_transforms.report_xlsx import write_xlsx

            return f"wrote {write_xlsx(data, out)}"
        text = render_html(data, focus=kind)
    if out:
        path = Path(out)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
        return f"wrote {path}"
    return text


def write_demo_reports(warehouse: Warehouse, config: Config, out_dir: str | Path, period: str = "2025-Q1",
                       lang: str = "id", audit_sheet: bool = True) -> list[Path]:
    """For ``chatkpi demo``: compute and store the scorecards of ``period``, write the HTML and
    ``.xlsx`` reports to ``out_dir`` (``reports/``) and, with ``audit_sheet``, draw (or reuse)
    the period's audit sample and write its review sheet. Returns the paths written."""
    from kpi_transforms.report_xlsx import write_xlsx

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    label = parse_period(period).label
    paths = []
    if audit_sheet:
        from kpi_transforms.audit import sample_threads, write_review_sheet

        sample_threads(warehouse, period)
    data = report_data(warehouse, config, "scorecard", period, lang=lang)
    html_path = out / f"chatkpi_{label}.html"
    html_path.write_text(render_html(data, focus="scorecard"), encoding="utf-8")
    paths += [html_path, write_xlsx(data, out / f"chatkpi_{label}.xlsx")]
    if audit_sheet:
        paths.append(write_review_sheet(warehouse, period, out / f"audit_{label}.xlsx", lang=lang))
    return paths
