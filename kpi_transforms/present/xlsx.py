"""The report as an ``.xlsx`` workbook: the same tables as the HTML page, one sheet each.

Sheets: the seed-000 reply-duration table, the scorecard(s) with their totals, and the data
behind each chart (FRT distribution with a native bar chart, weekday x hour heatmap with a
colour scale, monthly trend, agents side by side). Labels follow the report language.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from kpi_transforms.present.report_data import ReportData
from kpi_transforms.present.scorecards import iter_scorecards, scorecard_display, total_line
from kpi_transforms.present.texts import TEXT, WEEKDAYS

SHEETS = {
    "id": {"durations": "Durasi Balas", "scorecard": "Scorecard", "frt": "Distribusi FRT", "heatmap": "Heatmap",
           "trend": "Tren Bulanan", "agents": "Per Agen",
           "frt_cols": ["Rentang (jam kerja)", "Pasangan", "% pasangan"],
           "trend_cols": ["Bulan", "FRT rata-rata (menit jam kerja)", "% dibalas ≤ 1 hari kerja", "Pasangan valid"],
           "agent_cols": ["Agen", "FRT rata-rata (menit jam kerja)", "% dibalas ≤ 1 hari kerja", "Antrian"],
           "hour": "Jam"},
    "en": {"durations": "Reply durations", "scorecard": "Scorecard", "frt": "FRT distribution", "heatmap": "Heatmap",
           "trend": "Monthly trend", "agents": "Agents",
           "frt_cols": ["Range (business time)", "Pairs", "% of pairs"],
           "trend_cols": ["Month", "Average FRT (business minutes)", "% answered ≤ 1 working day", "Valid pairs"],
           "agent_cols": ["Agent", "Average FRT (business minutes)", "% answered ≤ 1 working day", "Queues"],
           "hour": "Hour"},
}


def _clean(value):
    """Cells never become formulas, and NaN becomes an empty cell."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    return value


def _put(ws, row: int, col: int, value):
    """Every cell goes through here: a text starting with ``=`` (a template, agent or thread
    name) stays text instead of becoming a live formula (issue 15)."""
    cell = ws.cell(row, col, _clean(value))
    if isinstance(value, str) and value.startswith("="):
        cell.data_type = "s"
    return cell


def _write_frame(ws, frame: pd.DataFrame, start_row: int, bold) -> int:
    for col, name in enumerate(frame.columns, start=1):
        _put(ws, start_row, col, str(name)).font = bold
    for r, record in enumerate(frame.itertuples(index=False), start=start_row + 1):
        for col, value in enumerate(record, start=1):
            _put(ws, r, col, value)
    return start_row + len(frame) + 1


def _widths(ws, widths: list[int]) -> None:
    from openpyxl.utils import get_column_letter

    for i, w in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = w


def write_xlsx(data: ReportData, path: str | Path) -> Path:
    """Write the report workbook to ``path`` and return it."""
    from openpyxl import Workbook
    from openpyxl.chart import BarChart, Reference
    from openpyxl.formatting.rule import ColorScaleRule
    from openpyxl.styles import Font

    t, s = TEXT[data.lang], SHEETS[data.lang]
    bold, title_font = Font(bold=True), Font(bold=True, size=13)
    wb = Workbook()

    ws = wb.active
    ws.title = s["durations"]
    _put(ws, 1, 1, f"{t['durations']} — {data.period.label} — {data.scope}").font = title_font
    _write_frame(ws, data.durations, 3, bold)
    _widths(ws, [34, 14, 10, 44, 70])

    ws = wb.create_sheet(s["scorecard"])
    _put(ws, 1, 1, f"{t['scorecard']} — {data.period.label}").font = title_font
    row = 3
    if data.scorecards is None or data.scorecards.rows.empty:
        _put(ws, row, 1, t["no_scorecard"].format(period=data.period.label))
    else:
        for tpl, agent, rows, total in iter_scorecards(data.scorecards):
            who = t["agent"].format(agent=agent) if agent else t["team"]
            _put(ws, row, 1, f"{tpl.name} — {who}").font = bold
            row = _write_frame(ws, scorecard_display(rows, tpl, data.lang), row + 1, bold)
            for line in total_line(total, data.lang).split("\n"):
                _put(ws, row, 1, line).font = bold
                row += 1
            row += 1
    _widths(ws, [60, 8, 14, 14, 14, 10, 60])

    ws = wb.create_sheet(s["frt"])
    _put(ws, 1, 1, t["frt"]).font = title_font
    frt = data.frt[["bucket_label", "n_pairs", "pct_of_pairs"]].copy()
    frt.columns = s["frt_cols"]
    end = _write_frame(ws, frt, 3, bold)
    if len(frt):
        chart = BarChart()
        chart.title = t["frt"]
        chart.y_axis.title = s["frt_cols"][1]
        chart.add_data(Reference(ws, min_col=2, min_row=3, max_row=end - 1), titles_from_data=True)
        chart.set_categories(Reference(ws, min_col=1, min_row=4, max_row=end - 1))
        chart.legend = None
        ws.add_chart(chart, "E3")
    _widths(ws, [22, 10, 12])

    ws = wb.create_sheet(s["heatmap"])
    _put(ws, 1, 1, t["heatmap"]).font = title_font
    _put(ws, 3, 1, s["hour"]).font = bold
    for h in range(24):
        _put(ws, 3, h + 2, h).font = bold
    for d in range(7):
        _put(ws, 4 + d, 1, WEEKDAYS[data.lang][d]).font = bold
        for h in range(24):
            _put(ws, 4 + d, h + 2, int(data.heatmap[d, h]))
    ws.conditional_formatting.add("B4:Y10", ColorScaleRule(start_type="min", start_color="FFFFFF", end_type="max", end_color="1F4E79"))
    _widths(ws, [8] + [5] * 24)

    ws = wb.create_sheet(s["trend"])
    _put(ws, 1, 1, t["trend"]).font = title_font
    trend = data.trend[["period_label", "avg_business_minutes", "pct_within_1_working_day", "n_valid_pairs"]].copy()
    trend.columns = s["trend_cols"]
    _write_frame(ws, trend, 3, bold)
    _widths(ws, [12, 30, 26, 14])

    ws = wb.create_sheet(s["agents"])
    _put(ws, 1, 1, f"{t['agents']} — {data.period.label}").font = title_font
    agents = data.agents[["agent_id", "avg_business_minutes", "pct_within_1_working_day", "n_queues"]].copy()
    agents.columns = s["agent_cols"]
    _write_frame(ws, agents, 3, bold)
    _widths(ws, [14, 30, 26, 10])

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path
