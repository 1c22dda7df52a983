"""The one-page summary (issue 17): each team KPI of the period's scorecards against its target
with a traffic light, plus the queues open past their deadline now. Rendered as HTML for
Chromium's print-to-PDF (A4, one page); no script, no external resource.
"""

from __future__ import annotations

import html

import pandas as pd

from kpi_transforms.present.report_data import ReportData
from kpi_transforms.present.scorecards import fmt_target, fmt_value, iter_scorecards

GREEN_AT, AMBER_AT = 100.0, 70.0  # achievement % of the target: ≥ 100 green, ≥ 70 amber, else red

SUMMARY_TEXT = {
    "id": {"title": "Ringkasan KPI — periode {period}", "made": "Dibuat {at} ({tz})", "kpi": "KPI", "target": "Target",
           "value": "Nilai", "pct": "Capaian", "light": "Status", "green": "tercapai", "amber": "mendekati", "red": "di bawah target",
           "grey": "tanpa data", "open": "Antrean terbuka melewati batas 1 hari kerja saat ini: {n}",
           "oldest": "terlama menunggu sejak {since} ({agent})", "legend": "Hijau ≥ 100 % target · kuning ≥ 70 % · merah < 70 % · abu-abu = tanpa data",
           "team": "seluruh tim", "points": "{points} poin dari bobot {covered} yang ada datanya"},
    "en": {"title": "KPI summary — period {period}", "made": "Generated {at} ({tz})", "kpi": "KPI", "target": "Target",
           "value": "Value", "pct": "Achievement", "light": "Status", "green": "met", "amber": "close", "red": "below target",
           "grey": "no data", "open": "Open queues past the 1-working-day deadline now: {n}",
           "oldest": "the oldest waits since {since} ({agent})", "legend": "Green ≥ 100 % of target · amber ≥ 70 % · red < 70 % · grey = no data",
           "team": "whole team", "points": "{points} points of the {covered} weight with data"},
}
COLOURS = {"green": "#2e7d32", "amber": "#f9a825", "red": "#c62828", "grey": "#9aa5b1"}
CSS = """
@page{size:A4;margin:12mm}
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2933;margin:0;font-size:11px}
h1{font-size:18px;margin:0 0 2px}h2{font-size:13px;margin:12px 0 4px}.meta{color:#5b6470;margin:0}
table{border-collapse:collapse;width:100%}th,td{border:1px solid #d9dee5;padding:3px 5px;text-align:left;vertical-align:top}
th{background:#eef3f9}td.num{text-align:right;white-space:nowrap}
.dot{display:inline-block;width:10px;height:10px;border-radius:50%;margin-right:4px;vertical-align:-1px;
-webkit-print-color-adjust:exact;print-color-adjust:exact}
.open{font-weight:600;margin:10px 0 2px}
"""


def traffic_light(achievement_pct, has_value: bool) -> str:
    """green / amber / red against the target, grey without data."""
    if not has_value or achievement_pct is None or pd.isna(achievement_pct):
        return "grey"
    return "green" if achievement_pct >= GREEN_AT else "amber" if achievement_pct >= AMBER_AT else "red"


def render_summary_html(data: ReportData) -> str:
    t, lang = SUMMARY_TEXT[data.lang], data.lang
    e = lambda v: html.escape(str(v), quote=True)  # noqa: E731
    parts = [f"<h1>{e(t['title'].format(period=data.period.label))} — {e(data.scope)}</h1>",
             f'<p class="meta">{e(t["made"].format(at=pd.Timestamp(data.generated_at).strftime("%d/%m/%Y %H.%M"), tz=data.timezone))}</p>']
    if data.scorecards is not None and not data.scorecards.rows.empty:
        for tpl, agent, rows, total in iter_scorecards(data.scorecards):
            if agent != data.agent_id:
                continue
            labels = {k.kpi_code: k.label(lang) for k in tpl.kpis}
            head = f"{tpl.name}"
            if total["total_points"] is not None and not pd.isna(total["total_points"]):
                head += " · " + t["points"].format(points=f"{total['total_points']:.2f}".replace(".", ","),
                                                   covered=f"{total['weights_with_data']:g}")
            parts.append(f"<h2>{e(head)}</h2><table><thead><tr><th>{e(t['kpi'])}</th><th>{e(t['target'])}</th>"
                         f"<th>{e(t['value'])}</th><th>{e(t['pct'])}</th><th>{e(t['light'])}</th></tr></thead><tbody>")
            for r in rows.to_dict("records"):
                has = r["value"] is not None and not pd.isna(r["value"])
                light = traffic_light(r["achievement_pct"], has)
                pct = f"{r['achievement_pct']:.0f} %" if has and not pd.isna(r["achievement_pct"]) else "—"
                parts.append(f'<tr class="light-{light}" data-kpi="{e(r["kpi_code"])}"><td>{e(labels.get(r["kpi_code"], r["kpi_code"]))}</td>'
                             f'<td class="num">{e(fmt_target(r, lang))}</td><td class="num">{e(fmt_value(r["value"] if has else None, r["unit"], lang))}</td>'
                             f'<td class="num">{e(pct)}</td><td><span class="dot" style="background:{COLOURS[light]}"></span>{e(t[light])}</td></tr>')
            parts.append("</tbody></table>")
    opened = data.sla_open if data.sla_open is not None else pd.DataFrame()
    line = t["open"].format(n=len(opened))
    if len(opened):
        first = opened.iloc[0]
        line += "; " + t["oldest"].format(since=pd.Timestamp(first["question_at_local"]).strftime("%d/%m/%Y %H.%M"),
                                          agent=first["agent_id"] if isinstance(first["agent_id"], str) else "—")
    parts.append(f'<p class="open">{e(line)}</p><p class="meta">{e(t["legend"])}</p>')
    return (f'<!DOCTYPE html>\n<html lang="{lang}"><head><meta charset="utf-8">'
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">"
            f"<title>{e(t['title'].format(period=data.period.label))}</title><style>{CSS}</style></head>"
            f"<body>{''.join(parts)}</body></html>\n")
