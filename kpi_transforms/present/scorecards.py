"""Scorecards as people read them: formatted values and targets, totals, tables.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from kpi_transforms.core.numbers import id_number, round_half_up
from kpi_transforms.metrics.catalogue import kpi_label
from kpi_transforms.metrics.scorecards import ScorecardResult, ScorecardTemplate
from kpi_transforms.present.tables import render_table
from kpi_transforms.present.texts import translate_note

# -- rendering ------------------------------------------------------------------------------

TEXT = {
    "id": {
        "title": "Scorecard {template} — periode {period}", "team": "tim", "agent": "agen",
        "cols": ["KPI", "Bobot", "Target", "Nilai", "Capaian %", "Skor", "Catatan"],
        "total": "Total: {points} poin dari bobot {covered} yang ada datanya = {pct} % (bobot template {weights})",
        "no_total": "Total: belum ada KPI dengan data (bobot template {weights})",
        "missing": "Tanpa data: {codes}", "none": "—",
        "minutes": "menit", "hours": "jam", "seconds": "detik",
    },
    "en": {
        "title": "Scorecard {template} — period {period}", "team": "team", "agent": "agent",
        "cols": ["KPI", "Weight", "Target", "Value", "Achievement %", "Score", "Note"],
        "total": "Total: {points} points of the {covered} weight with data = {pct} % (template weight {weights})",
        "no_total": "Total: no KPI has data yet (template weight {weights})",
        "missing": "Without data: {codes}", "none": "—",
        "minutes": "min", "hours": "h", "seconds": "s",
    },
}


def fmt_number(value: float, digits: int = 0, lang: str = "id") -> str:
    """Half-up rounding (SPEC 8); Indonesian 1.250,5 or English 1,250.5."""

    if lang == "en":
        return f"{round_half_up(value, digits):,.{digits}f}"
    return id_number(value, digits)


def fmt_compact(value: float, lang: str = "id", max_digits: int = 2) -> str:
    """A figure with as few decimals as it needs (1,25 / 90 / 7,5)."""

    text = fmt_number(value, max_digits, lang)
    dec = "," if lang == "id" else "."
    if dec in text:
        text = text.rstrip("0").rstrip(dec)
    return text if round_half_up(value, max_digits) != 0 else "0"


def fmt_value(value: float | None, unit: str | None, lang: str = "id") -> str:
    """A raw KPI value for people: durations in detik / menit / jam, percentages, counts."""
    t = TEXT[lang]
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return t["none"]
    if unit == "seconds":
        if abs(value) < 60:
            return f"{fmt_compact(value, lang, 0)} {t['seconds']}"
        if abs(value) < 3600:
            return f"{fmt_compact(value / 60, lang, 1)} {t['minutes']}"
        return f"{fmt_compact(value / 3600, lang, 1)} {t['hours']}"
    if unit == "percent":
        return f"{fmt_compact(value, lang, 1)} %"
    return fmt_compact(value, lang, 2)


def fmt_target(row: Mapping[str, Any], lang: str = "id") -> str:
    sign = "≤" if row["direction"] == "lower" else "≥"
    return f"{sign} {fmt_value(float(row['target']), row['unit'], lang)}"


def scorecard_display(frame: pd.DataFrame, template: ScorecardTemplate | None = None, lang: str = "id") -> pd.DataFrame:
    """The rows of one scorecard (one template, period, agent) as display strings."""
    t = TEXT[lang]
    # a template's own label wins, else the catalogue's (metrics/catalogue.py kpi_label); the code stays beside it
    labels = {k.kpi_code: k.label(lang) for k in template.kpis if k.label(lang) != k.kpi_code} if template else {}
    rows = []
    for row in frame.to_dict("records"):
        value = row["value"] if pd.notna(row["value"]) else None
        code = row["kpi_code"]
        label = labels.get(code) or kpi_label(code, lang)
        rows.append(
            [label + (f" ({code})" if label != code else ""),
             fmt_compact(row["weight"], lang), fmt_target(row, lang), fmt_value(value, row["unit"], lang),
             t["none"] if value is None else fmt_compact(row["achievement_pct"], lang, 1),
             t["none"] if value is None else fmt_compact(row["weighted_score"], lang, 2),
             translate_note(row["note"], lang) if isinstance(row["note"], str) else ""]  # a stored null note reads back as NaN
        )
    return pd.DataFrame(rows, columns=t["cols"])


def total_line(total: Mapping[str, Any], lang: str = "id") -> str:
    t = TEXT[lang]
    if total["total_points"] is None or pd.isna(total["total_points"]):
        text = t["no_total"].format(weights=fmt_compact(total["weights_total"], lang))
    else:
        text = t["total"].format(
            points=fmt_compact(total["total_points"], lang, 2), covered=fmt_compact(total["weights_with_data"], lang),
            pct=fmt_compact(total["total_pct_of_covered"], lang, 1), weights=fmt_compact(total["weights_total"], lang),
        )
    if total["kpis_without_data"]:
        text += "\n" + t["missing"].format(codes=", ".join(kpi_label(c, lang) for c in total["kpis_without_data"]))
    return text


def iter_scorecards(result: ScorecardResult) -> Sequence[tuple[ScorecardTemplate, str | None, pd.DataFrame, Mapping[str, Any]]]:
    """(template, agent_id, rows, totals) per scorecard, team first."""
    out = []
    for tpl in result.templates:
        rows = result.rows[result.rows["template"] == tpl.name]
        totals = result.totals[result.totals["template"] == tpl.name]
        for total in totals.to_dict("records"):
            agent = total["agent_id"] if isinstance(total["agent_id"], str) else None
            part = rows[rows["agent_id"].isna()] if agent is None else rows[rows["agent_id"] == agent]
            out.append((tpl, agent, part, total))
    return out


def render_scorecards(result: ScorecardResult, fmt: str = "table", lang: str = "id") -> str:
    """Plain-text or Markdown scorecards, one block per template and agent."""

    t = TEXT[lang]
    blocks = []
    for tpl, agent, rows, total in iter_scorecards(result):
        who = f"{t['agent']} {agent}" if agent else t["team"]
        title = t["title"].format(template=tpl.name, period=result.period.label) + f", {who}"
        body = render_table(scorecard_display(rows, tpl, lang), fmt, title=title)
        blocks.append(body + "\n\n" + total_line(total, lang))
    return "\n\n".join(blocks) if blocks else "(no scorecard: no KPI rows)"
