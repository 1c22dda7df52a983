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

import html
import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from kpi_transforms.metrics.catalogue import kpi_label, template_label
from kpi_transforms.metrics.review_sheet import human_duration
from kpi_transforms.metrics.scorecards import ScorecardResult
from kpi_transforms.present.report_data import ReportData
from kpi_transforms.present.scorecards import fmt_compact, iter_scorecards, scorecard_display, total_line
from kpi_transforms.present.texts import TEXT, WEEKDAYS, frt_bucket_label, translate_note

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


def _tick_labels(vmax: float, lang: str) -> list[str]:
    """The five grid labels 0 .. vmax with as many decimals as the step needs (0, 0,5, 1, 1,5, 2
    instead of 0, 1, 1, 2, 2)."""
    step = vmax / 4
    digits = 0 if float(step).is_integer() else 1 if float(step * 10).is_integer() else 2
    return [_num(step * i, lang, digits) for i in range(5)]


def _left_margin(labels: Sequence[str], minimum: int = 44) -> int:
    """Room for the widest axis label (about 7 px a character at 12 px), so 300.000 is not cut to 00.000."""
    return max(minimum, 10 + 7 * max((len(t) for t in labels), default=0))


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
    vmax = _nice_max(max(vals), integer=all(float(v).is_integer() for v in vals))
    ticks = _tick_labels(vmax, lang)
    left, right, top, bottom = _left_margin(ticks), 10, 16, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    parts = [_svg_open(width, height, label)]
    for i in range(5):
        y = top + plot_h - plot_h * i / 4
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="{PALETTE["grid"]}"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="{PALETTE["axis"]}">{_e(ticks[i])}</text>')
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
    vmax = fixed_max or _nice_max(max(present))
    ticks = _tick_labels(vmax, lang)
    left, right, top, bottom, inset = _left_margin(ticks), 14, 22, 40, 30
    plot_w, plot_h = width - left - right, height - top - bottom
    parts = [_svg_open(width, height, label)]
    for i in range(5):
        y = top + plot_h - plot_h * i / 4
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="{PALETTE["grid"]}"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="{PALETTE["axis"]}">{_e(ticks[i])}</text>')
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
.scroll{max-width:100%;overflow-x:auto}a{color:#2f6db5}
ol.transcript{list-style:none;padding:0;margin:6px 0;font-size:14px}ol.transcript li{padding:2px 0;overflow-wrap:anywhere}
.mark{display:inline-block;min-width:3.2em;font-weight:600;color:#2f6db5}.late{color:#b3261e;font-weight:600}
article.transcript{border-top:1px solid #e4e8ee;margin-top:14px}
article.facts table{font-size:12px}article.facts td,article.facts th{overflow-wrap:anywhere}article.facts p.meta{overflow-wrap:anywhere}
@media (max-width:600px){main{padding:12px 10px 24px}h1{font-size:21px}h2{font-size:17px}
table{font-size:12px}th,td{padding:4px 5px}td.nowrap,td.num{white-space:normal}td,th{overflow-wrap:anywhere}}
@page{size:A4;margin:12mm}
@media print{main{max-width:none;padding:0}details::details-content{content-visibility:visible;display:block}
details>summary{list-style:none}.scroll{overflow:visible}h2,h3{break-after:avoid}tr,figure,li{break-inside:avoid}
a{color:inherit;text-decoration:none}body{font-size:12px}table{font-size:11px}}
"""
NUMERIC_COLUMNS = {"Hasil", "Result", "Bobot", "Weight", "Capaian %", "Achievement %", "Skor", "Score", "Total poin",
                   "Total points", "% dari bobot dengan data", "% of weights with data", "KPI tanpa data", "KPIs without data"}
NOWRAP_COLUMNS = {"Target", "Nilai", "Value", "Satuan", "Unit", "Bobot dengan data / total", "Weights with data / total"}


def html_table(frame: pd.DataFrame, nodata_column: str | None = None, links: Sequence[str | None] | None = None,
               link_column: str | None = None) -> str:
    """``links[i]``, when given, makes row i's ``link_column`` cell a link (issue 17: a KPI value
    to the list of facts it counts)."""
    head = "".join(f"<th>{_e(c)}</th>" for c in frame.columns)
    rows = []
    for i, record in enumerate(frame.to_dict("records")):
        cls = ' class="nodata"' if nodata_column and record.get(nodata_column) in ("—", "") else ""
        href = links[i] if links is not None and link_column is not None else None

        def inner(c: str, v: object) -> str:
            return f'<a href="{_e(href)}">{_e(v)}</a>' if href and c == link_column else _e(v)

        cells = "".join(
            f'<td class="num">{inner(c, v)}</td>' if c in NUMERIC_COLUMNS
            else f'<td class="nowrap">{inner(c, v)}</td>' if c in NOWRAP_COLUMNS else f"<td>{inner(c, v)}</td>"
            for c, v in record.items()
        )
        rows.append(f"<tr{cls}>{cells}</tr>")
    return f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table></div>'


def _link_table(header: list[str], rows: list[list[tuple[str, str | None]]], numeric: set[int] = frozenset()) -> str:
    """A table whose cells may link: each cell is (text, href or None)."""
    head = "".join(f"<th>{_e(c)}</th>" for c in header)
    body = []
    for row in rows:
        cells = []
        for i, (text, href) in enumerate(row):
            inner = f'<a href="{_e(href)}">{_e(text)}</a>' if href else _e(text)
            cells.append(f'<td class="num">{inner}</td>' if i in numeric else f"<td>{inner}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    return f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>'


def _anchor(thread_id: str) -> str:
    return "#t-" + thread_id


def _short(text: object, width: int = 60) -> str:
    text = " ".join(text.split()) if isinstance(text, str) else ""
    return text if len(text) <= width else text[: width - 1] + "…"


def _sla_html(data: ReportData) -> str:
    """Issue 17: open queues past the deadline now, then the period's slowest answers; rows link
    to the transcript appendix."""
    t, lang = TEXT[data.lang], data.lang
    now = pd.Timestamp(data.generated_at).strftime("%d/%m/%Y %H.%M")
    parts = [f'<section id="sla"><h2>{_e(t["sla"])}</h2><h3>{_e(t["sla_open"].format(now=now))}</h3>']
    if data.sla_open is None or data.sla_open.empty:
        parts.append(f"<p>{_e(t['sla_none'])}</p>")
    else:
        rows = [[(str(i), None), (pd.Timestamp(r.question_at_local).strftime("%d/%m/%Y %H.%M"), None),
                 (human_duration(r.overdue_seconds, lang), None), (_short(r.thread_name or r.customer_key, 30), None),
                 (r.agent_id if isinstance(r.agent_id, str) else "—", None), (r.channel, None), (_short(r.excerpt), None),
                 (t["open_transcript"], _anchor(r.thread_id))]
                for i, r in enumerate(data.sla_open.itertuples(index=False), start=1)]
        parts.append(_link_table(t["sla_cols"], rows, numeric={0}))
    parts.append(f"<h3>{_e(t['slowest'])}</h3>")
    if data.slowest is None or data.slowest.empty:
        parts.append(f"<p>{_e(t['no_data'])}</p>")
    else:
        rows = []
        for i, r in enumerate(data.slowest.itertuples(index=False), start=1):
            ok = r.within_1_working_day
            rows.append([(str(i), None), (pd.Timestamp(r.question_at_local).strftime("%d/%m/%Y %H.%M"), None),
                         (human_duration(r.calendar_seconds, lang), None), (human_duration(r.business_seconds, lang), None),
                         (t["yes"] if bool(ok) else t["no"], None), (_short(r.thread_name or r.customer_key, 30), None),
                         (r.agent_id if isinstance(r.agent_id, str) else "—", None), (r.channel, None),
                         (t["open_transcript"], _anchor(r.thread_id))])
        parts.append(_link_table(t["slow_cols"], rows, numeric={0}))
    parts.append("</section>")
    return "".join(parts)


def _seed002_html(data: ReportData) -> str:
    """Seed 002's sections: FRT per channel, AHT per agent (when such a KPI is stored), top
    complaint categories with the previous period beside them."""
    t, lang = TEXT[data.lang], data.lang
    parts = []
    if data.frt_channel is not None:
        rows = []
        for r in data.frt_channel.itertuples(index=False):
            href = data.fact_href(f"frt_avg_{r.channel}", None)  # all four figures count the channel's valid pairs
            rows.append([(r.channel, None), (str(int(r.n_pairs)), href), (fmt_compact(r.avg_business_minutes, lang, 1), href),
                         (fmt_compact(r.median_business_minutes, lang, 1), href),
                         (fmt_compact(r.pct_within_1_working_day, lang, 1), href)])
            sla = data.fact_href(f"sla_compliance_rate_{r.channel}", None)  # the channel's queues counted for its SLA
            rows[-1] += [(str(int(r.n_sla)), sla), (fmt_compact(r.pct_within_sla, lang, 1) if pd.notna(r.pct_within_sla) else "—", sla)]
        body = _link_table(t["channel_cols"], rows, numeric={1, 2, 3, 4, 5, 6}) if rows else f"<p>{_e(t['no_data'])}</p>"
        parts.append(f'<section id="channels"><h2>{_e(t["channels"])}</h2>{body}</section>')
    if data.aht is not None and len(data.aht):
        rows = [[(kpi_label(r.kpi_code, lang), None), (r.agent_id if isinstance(r.agent_id, str) else t["team_short"], None),
                 (fmt_compact(r.value / 60.0 if r.unit == "seconds" else r.value, lang, 1) if pd.notna(r.value) else "—", None),
                 ("menit" if lang == "id" and r.unit == "seconds" else "minutes" if r.unit == "seconds" else r.unit, None),
                 (str(int(r.basis_count)), data.fact_href(r.kpi_code, r.agent_id if isinstance(r.agent_id, str) else None))]
                for r in data.aht.itertuples(index=False)]  # the count links to the resolved conversations it averages
        parts.append(f'<section id="aht"><h2>{_e(t["aht"])}</h2>{_link_table(t["aht_cols"], rows, numeric={2, 4})}</section>')
    if data.csat is not None and len(data.csat):
        names = t["categories"]
        rows = []
        for r in data.csat.itertuples(index=False):  # the value and its count link to the ratings counted
            href = data.fact_href(f"csat_rate_{r.category}", None) if int(r.basis_count) else None
            rows.append([(names.get(r.category, r.category), None),
                         (fmt_compact(float(r.value), lang, 1) if pd.notna(r.value) else "—", href), (str(int(r.basis_count)), href),
                         (translate_note(r.note, lang) if isinstance(r.note, str) else "", None)])
        parts.append(f'<section id="csat"><h2>{_e(t["csat"])}</h2><p class="meta">{_e(t["csat_intro"])}</p>'
                     f'{_link_table(t["csat_cols"], rows, numeric={1, 2})}'
                     f'<p class="meta bi-query">{_e(t["csat_query"].format(query=data.csat_query))}</p></section>')
    if data.complaints is not None:
        names = t["categories"]
        rows = [[(names.get(r.category, r.category), None), (str(int(r.n_cases)), None), (str(int(r.n_previous)), None),
                 (f"{int(r.change):+d}".replace("+0", "0"), None)] for r in data.complaints.itertuples(index=False)]
        body = _link_table(t["complaint_cols"], rows, numeric={1, 2, 3}) if rows else f"<p>{_e(t['no_complaints'])}</p>"
        parts.append(f'<section id="complaints"><h2>{_e(t["complaints"])}</h2>{body}</section>')
    return "".join(parts)


def _durations_table(data: ReportData) -> str:
    """Seed 000's table; each figure links to the pairs it counts: the first row (the average)
    and the fastest / slowest to the valid pairs, the last (within 1 working day) to the queues
    counted for ``response_rate_1wd``."""
    n = len(data.durations)
    codes = ["reply_duration_avg"] * max(n - 1, 0) + ["response_rate_1wd"] if n else []
    links = [data.fact_href(code, None) for code in codes]
    return html_table(data.durations, links=links, link_column=data.durations.columns[1])


def _facts_html(data: ReportData) -> str:
    """The appendix the KPI figures link to: per basis and scope, the pairs counted (at most the
    first few, then the ``bi.v_reply_pairs`` query that returns all of them)."""
    if not data.fact_lists:
        return ""
    t, lang = TEXT[data.lang], data.lang
    parts = [f'<section id="facts"><h2>{_e(t["facts"])}</h2><p class="meta">{_e(t["facts_intro"])}</p>']

    def flag(v: object) -> str:
        return "—" if v is None or pd.isna(v) else t["yes"] if bool(v) else t["no"]

    def when(v: object) -> str:
        return "—" if v is None or pd.isna(v) else pd.Timestamp(v).strftime("%d/%m/%Y %H.%M")

    def seconds(v: object) -> str:
        return "—" if v is None or pd.isna(v) else fmt_compact(float(v), lang, 0)

    # per kind of list: its title, the table's columns and numeric columns, the key, and a row's
    # cells after the key and the thread (which links to its transcript where the appendix has it)
    names = t["categories"]
    kinds = {
        "case": ("facts_case_title", "facts_case_cols", {4, 5}, "case_id", lambda r: [
            str(r.category), when(r.opened_at_local), seconds(r.first_response_business_seconds),
            seconds(r.resolution_business_seconds), str(r.status), flag(r.is_repeat), flag(r.is_in_closed_period)]),
        "conversation": ("facts_conv_title", "facts_conv_cols", {4, 5}, "conversation_id", lambda r: [
            when(r.started_at_local), when(r.resolved_at_local), seconds(r.handle_seconds),
            seconds(r.resolution_business_seconds), str(r.status), flag(r.is_fcr), flag(r.is_abandoned)]),
        "rating": ("facts_rating_title", "facts_rating_cols", {3}, "rating_id", lambda r: [
            when(r.rated_at_local), "—" if pd.isna(r.stars) else str(int(r.stars)),
            names.get(r.category, r.category) if isinstance(r.category, str) else names.get("no_complaint", "—"),
            r.customer_key if isinstance(r.customer_key, str) else "—"]),
        "quote": ("facts_quote_title", "facts_quote_cols", {4}, "pair_id", lambda r: [
            when(r.question_at_local), when(r.quote_at_local), seconds(r.business_seconds), flag(r.is_in_closed_period)]),
    }
    pairs = ("facts_title", "facts_cols", {4}, "pair_id", lambda r: [
        when(r.question_at_local), when(r.reply_at_local),
        seconds(r.business_seconds),
        flag(r.is_valid), flag(r.is_counted_1wd), flag(r.is_counted_24h),
        r.customer_key if isinstance(r.customer_key, str) else "—"])

    for anchor, fl in data.fact_lists.items():
        scope = t["agent"].format(agent=fl.agent_id) if fl.agent_id else t["team"]
        title_key, cols, numeric, key, cells = kinds.get(fl.kind, pairs)
        title = t[title_key].format(
            basis=t["facts_bases"][fl.basis], scope=scope, channel=f" · {fl.channel}" if fl.channel else "", n=fl.total)
        more = fl.total - len(fl.rows)
        tail = t["facts_more"].format(n=more, query=fl.bi_filter) if more > 0 else t["facts_all"].format(query=fl.bi_filter)
        rows = [[(getattr(r, key), None), (r.thread_id, _anchor(r.thread_id) if data.transcripts and r.thread_id in data.transcripts else None)]
                + [(cell, None) for cell in cells(r)] for r in fl.rows.itertuples(index=False)]
        parts.append(f'<article class="facts" id="{_e(anchor)}"><h3>{_e(title)}</h3>'
                     f'{_link_table(t[cols], rows, numeric=numeric) if rows else ""}<p class="meta">{_e(tail)}</p></article>')
    parts.append("</section>")
    return "".join(parts)


def _transcripts_html(data: ReportData) -> str:
    """The appendix the SLA rows link to: each thread's messages with its queues marked."""
    if not data.transcripts:
        return ""
    t, lang = TEXT[data.lang], data.lang
    parts = [f'<section id="transcripts"><h2>{_e(t["transcripts"])}</h2><p class="meta">{_e(t["transcript_marks"])}</p>']
    for thread_id, tr in data.transcripts.items():
        info, pairs = tr.thread, tr.pairs
        number = dict(zip(pairs["pair_id"], pairs["number"]))
        late = {p.pair_id for p in pairs.itertuples(index=False)
                if p.within_1_working_day is not None and not pd.isna(p.within_1_working_day) and not bool(p.within_1_working_day)}
        open_ids = set(pairs.loc[pairs["status"] == "unanswered", "pair_id"])
        parts.append(f'<article class="transcript" id="t-{_e(thread_id)}"><h3>{_e(info["thread_name"])} · {_e(info["channel"])}'
                     f' · {_e(info["primary_agent_id"] or "—")}</h3><ol class="transcript">')
        for m in tr.messages.itertuples(index=False):
            mark, flag = "", ""
            if isinstance(m.opens_pair_id, str) and m.opens_pair_id in number:
                mark = f"▶ Q{number[m.opens_pair_id]}"
                if m.opens_pair_id in open_ids:
                    flag = f' <span class="late">{_e(t["unanswered"])}</span>'
            elif isinstance(m.answers_pair_id, str) and m.answers_pair_id in number:
                mark = f"◀ A{number[m.answers_pair_id]}"
                if m.answers_pair_id in late:
                    flag = f' <span class="late">{_e(t["late"])}</span>'
            text = m.text if isinstance(m.text, str) and m.text else ("<media>" if m.message_type == "media" else "")
            when = pd.Timestamp(m.sent_at_local).strftime("%d/%m %H.%M")
            parts.append(f'<li><span class="mark">{_e(mark)}</span> {_e(when)} <b>{_e(m.sender_label if isinstance(m.sender_label, str) else m.sender_role)}</b>: {_e(text)}{flag}</li>')
        parts.append("</ol></article>")
    parts.append("</section>")
    return "".join(parts)


def scorecard_summary(result: ScorecardResult, lang: str = "id") -> pd.DataFrame:
    """One line per scorecard (template x team / agent): points, covered weights, percentage."""
    t = TEXT[lang]
    rows = []
    for tpl, agent, _rows, total in iter_scorecards(result):
        has = total["total_points"] is not None and not pd.isna(total["total_points"])
        label = template_label(tpl.name, lang)
        rows.append([
            f"{label} ({tpl.name})" if label != tpl.name else label, t["agent"].format(agent=agent) if agent else t["team"],
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
        parts.append(f"<details{opened}><summary><h3>{_e(template_label(tpl.name, data.lang))} — {_e(who)}</h3></summary>")
        if tpl.description(data.lang) != tpl.name:
            # "(seed 000)" names the request the template came from: project jargon, not for readers
            parts.append(f'<p class="meta">{_e(re.sub(r" ?[(]seed [0-9]+[)]", "", tpl.description(data.lang)))}</p>')
        links = [data.fact_href(code, agent) for code in rows["kpi_code"]]
        parts.append(html_table(display, nodata_column=value_col, links=links, link_column=value_col))
        parts.append(f'<p class="total">{_e(lines[0])}</p>')
        parts += [f'<p class="missing">{_e(line)}</p>' for line in lines[1:]]
        parts.append("</details>")
    return "".join(parts)


def render_html(data: ReportData, focus: str = "reply-durations") -> str:
    """The whole report as one self-contained HTML document."""
    t = TEXT[data.lang]
    lang = data.lang
    frt_svg = svg_bar_chart([frt_bucket_label(b, lang) for b in data.frt["bucket_label"]], list(data.frt["n_pairs"].astype(float)),
                            label=t["frt"], lang=lang, unit=f" {t['pairs']}")
    heat_svg = svg_heatmap(data.heatmap, label=t["heatmap"], lang=lang)
    trend_labels = list(data.trend["period_label"])
    trend_frt = svg_line_chart(trend_labels, list(data.trend["avg_business_minutes"]), label=t["trend_frt"], lang=lang, unit=t["min_unit"])
    trend_rate = svg_line_chart(trend_labels, list(data.trend["pct_within_1_working_day"]), label=t["trend_rate"], lang=lang,
                                unit=" %", color=PALETTE["bar2"], fixed_max=100.0)
    names = list(data.agents["agent_id"])
    agents_frt = svg_hbar_chart(names, list(data.agents["avg_business_minutes"]), label=t["agents_frt"], lang=lang, unit=t["min_unit"])
    agents_rate = svg_hbar_chart(names, list(data.agents["pct_within_1_working_day"]), label=t["agents_rate"], lang=lang,
                                 unit=" %", color=PALETTE["bar2"], fixed_max=100.0)
    agents_volume = svg_hbar_chart(names, list(data.agents["n_queues"].astype(float)), label=t["agents_volume"], lang=lang,
                                   color="#4f9a6a")
    durations = (f'<section id="reply-durations"><h2>{_e(t["durations"])}</h2>'
                 f'<p class="meta" id="bases">{_e(t["bases"])}</p>{_durations_table(data)}</section>')
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
    body += _sla_html(data) + _seed002_html(data) + _facts_html(data) + _transcripts_html(data)
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
