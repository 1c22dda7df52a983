"""The report as an ``.xlsx`` workbook: the same tables as the HTML page, one sheet each.

Sheets: the seed-000 reply-duration table, the scorecard(s) with their totals, and the data
behind each chart (FRT distribution with a native bar chart, weekday x hour heatmap with a
colour scale, monthly trend, agents side by side). Labels follow the report language.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from kpi_transforms.metrics.catalogue import template_label
from kpi_transforms.present.report_data import ReportData
from kpi_transforms.present.scorecards import iter_scorecards, scorecard_display, total_line
from kpi_transforms.present.texts import TEXT, WEEKDAYS, frt_bucket_label

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


# Display columns whose cells are figures: written as numbers with a number format (Excel and
# LibreOffice show them with the reader's separators: 746,9 and 1.234 in an Indonesian locale).
NUMBER_COLUMNS = {"Hasil", "Result", "Bobot", "Weight", "Capaian %", "Achievement %", "Skor", "Score", "Nilai", "Value"}
UNITS = {"%", "detik", "menit", "jam", "seconds", "minutes", "hours", "sec", "min", "h", "s"}
_ID_NUMBER = re.compile(r"^(-?(?:\d{1,3}(?:\.\d{3})+|\d+)(?:,\d+)?)(?: (\S+))?$")


def id_figure(text) -> tuple[float, str] | None:
    """``"1.234,5"`` -> (1234.5, ``"#,##0.0"``), ``"44 menit"`` -> (44.0, ``'#,##0" menit"'``): an
    Indonesian-formatted figure (with an optional unit) as a number and the Excel format that
    shows it with the same decimals and unit; None for anything else."""
    found = _ID_NUMBER.match(text.strip()) if isinstance(text, str) else None
    if found is None or (found.group(2) is not None and found.group(2) not in UNITS):
        return None
    body, unit = found.group(1), found.group(2)
    decimals = len(body.split(",")[1]) if "," in body else 0
    fmt = "#,##0" + ("." + "0" * decimals if decimals else "") + (f'" {unit}"' if unit else "")
    return float(body.replace(".", "").replace(",", ".")), fmt


def _format_for(value) -> str | None:
    """Raw floats (chart data) get one decimal; integers a thousands separator."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float):
        return "#,##0.0"
    if isinstance(value, int):
        return "#,##0"
    return None


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
    numeric = [str(c) in NUMBER_COLUMNS for c in frame.columns]
    for r, record in enumerate(frame.itertuples(index=False), start=start_row + 1):
        for col, value in enumerate(record, start=1):
            figure = id_figure(value) if numeric[col - 1] else None
            if figure is not None:
                ws.cell(r, col, figure[0]).number_format = figure[1]
                continue
            if hasattr(value, "item") and not isinstance(value, str):
                value = value.item()  # NumPy scalars as Python numbers
            cell = _put(ws, r, col, value)
            if cell.data_type != "s" and (fmt := _format_for(_clean(value))) is not None:
                cell.number_format = fmt
    return start_row + len(frame) + 1


def _table_sheet(ws, header_row: int, n_cols: int, last_row: int, *, filtered: bool = True) -> None:
    """Frozen header, a filter on it, and print set-up: landscape A4, one page wide, the header
    repeated on every page."""
    from openpyxl.utils import get_column_letter

    ws.freeze_panes = ws.cell(header_row + 1, 1)
    if filtered and last_row > header_row:
        ws.auto_filter.ref = f"A{header_row}:{get_column_letter(n_cols)}{last_row}"
    _print_setup(ws, header_row)


def _print_setup(ws, header_row: int | None) -> None:
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    if header_row:
        ws.print_title_rows = f"{header_row}:{header_row}"


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
    end = _write_frame(ws, data.durations, 3, bold)
    _widths(ws, [34, 14, 10, 44, 70])
    _table_sheet(ws, 3, len(data.durations.columns), end - 1)

    ws = wb.create_sheet(s["scorecard"])
    _put(ws, 1, 1, f"{t['scorecard']} — {data.period.label}").font = title_font
    row = 3
    if data.scorecards is None or data.scorecards.rows.empty:
        _put(ws, row, 1, t["no_scorecard"].format(period=data.period.label))
    else:
        for tpl, agent, rows, total in iter_scorecards(data.scorecards):
            who = t["agent"].format(agent=agent) if agent else t["team"]
            _put(ws, row, 1, f"{template_label(tpl.name, data.lang)} — {who}").font = bold
            row = _write_frame(ws, scorecard_display(rows, tpl, data.lang), row + 1, bold)
            for line in total_line(total, data.lang).split("\n"):
                _put(ws, row, 1, line).font = bold
                row += 1
            row += 1
    _widths(ws, [60, 8, 14, 14, 14, 10, 60])
    ws.freeze_panes = "A2"  # several tables one under the other: the title stays, no single filter
    _print_setup(ws, None)

    ws = wb.create_sheet(s["frt"])
    _put(ws, 1, 1, t["frt"]).font = title_font
    frt = data.frt[["bucket_label", "n_pairs", "pct_of_pairs"]].copy()
    frt["bucket_label"] = [frt_bucket_label(b, data.lang) for b in frt["bucket_label"]]
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
    _table_sheet(ws, 3, 3, end - 1)

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
    ws.freeze_panes = "B4"
    _print_setup(ws, 3)

    ws = wb.create_sheet(s["trend"])
    _put(ws, 1, 1, t["trend"]).font = title_font
    trend = data.trend[["period_label", "avg_business_minutes", "pct_within_1_working_day", "n_valid_pairs"]].copy()
    trend.columns = s["trend_cols"]
    end = _write_frame(ws, trend, 3, bold)
    _widths(ws, [12, 30, 26, 14])
    _table_sheet(ws, 3, 4, end - 1)

    ws = wb.create_sheet(s["agents"])
    _put(ws, 1, 1, f"{t['agents']} — {data.period.label}").font = title_font
    agents = data.agents[["agent_id", "avg_business_minutes", "pct_within_1_working_day", "n_queues"]].copy()
    agents.columns = s["agent_cols"]
    end = _write_frame(ws, agents, 3, bold)
    _widths(ws, [14, 30, 26, 10])
    _table_sheet(ws, 3, 4, end - 1)

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path
