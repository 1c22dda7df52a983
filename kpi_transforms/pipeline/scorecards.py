"""Scorecards: the period's KPIs (computed first when missing), scored against a template and
stored in ``marts.fct_scorecard``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from kpi_transforms.core.config import Config
from kpi_transforms.core.periods import Period, parse_period
from kpi_transforms.metrics.catalogue import AUDIT_KPI_CODES
from kpi_transforms.metrics.scorecards import (
    SCORECARD_CONTRACT,
    ScorecardResult,
    fct_scorecard,
    get_template,
    load_templates,
    scorecard_totals,
)
from kpi_transforms.pipeline.audit import store_audit_kpis
from kpi_transforms.pipeline.kpis import compute_period_kpis
from kpi_transforms.warehouse.engine import Warehouse

# -- warehouse ------------------------------------------------------------------------------


def read_period_kpis(warehouse: Warehouse, period: Period) -> pd.DataFrame:
    return warehouse.read_df(
        "select kpi_code, period_type, period_start, agent_id, value, unit, basis_count, note"
        " from marts.fct_kpi where period_type = :t and period_start = :s",
        {"t": period.period_type, "s": period.start},
    )


def ensure_period_kpis(warehouse: Warehouse, config: Config, period: Period, *, need_audit: bool = True) -> pd.DataFrame:
    """The period's ``marts.fct_kpi`` rows, computed first (``compute_period_kpis``) when the
    period has none besides the two audit KPIs, which ``chatkpi audit`` writes on its own. With
    ``need_audit`` and the audit KPIs still missing, they are filled in from the stored sample
    and validations (``kpi_transforms.audit``)."""
    kpis = read_period_kpis(warehouse, period)
    if kpis[~kpis["kpi_code"].isin(AUDIT_KPI_CODES)].empty:

        compute_period_kpis(warehouse, config, period.label)
        kpis = read_period_kpis(warehouse, period)
    if need_audit and not set(AUDIT_KPI_CODES) <= set(kpis["kpi_code"]):

        store_audit_kpis(warehouse, period)
        kpis = read_period_kpis(warehouse, period)
    return kpis


def store_scorecard(warehouse: Warehouse, frame: pd.DataFrame, template: str, period: Period, agent_id: str | None = None) -> int:
    """Replace the template's rows of the period (only ``agent_id``'s when given) in one transaction."""
    sql = "delete from marts.fct_scorecard where template = :tpl and period_type = :t and period_start = :s"
    params: dict[str, Any] = {"tpl": template, "t": period.period_type, "s": period.start}
    if agent_id is not None:
        sql += " and agent_id = :a"
        params["a"] = agent_id
    with warehouse.begin() as conn:
        warehouse.lock(conn, "scorecard")
        warehouse.execute(conn, sql, params)
        return warehouse.bulk_insert(conn, "marts.fct_scorecard", SCORECARD_CONTRACT.arrow_table(frame))


def compute_scorecards(
    warehouse: Warehouse,
    config: Config,
    period_text: str,
    *,
    template: str | None = None,
    agent_id: str | None = None,
    templates_path: str | Path | None = None,
    store: bool = True,
) -> ScorecardResult:
    """``chatkpi scorecard``: from ``marts.fct_kpi`` (computing the period first when it has no
    rows), score every template (or ``template``), store and return rows and totals."""
    period = parse_period(period_text)
    templates = load_templates(templates_path)
    chosen = [get_template(template, templates_path)] if template else list(templates.values())
    warehouse.init()
    needs_audit = any(set(AUDIT_KPI_CODES) & set(t.kpi_codes) for t in chosen)
    kpis = ensure_period_kpis(warehouse, config, period, need_audit=needs_audit)
    now = pd.Timestamp.now(tz="UTC")
    frames = []
    for tpl in chosen:
        frame = fct_scorecard(kpis, tpl, period, config, agent_id=agent_id, computed_at=now)
        if store:
            store_scorecard(warehouse, frame, tpl.name, period, agent_id)
        frames.append(frame)
    rows = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=SCORECARD_CONTRACT.names)
    return ScorecardResult(period, chosen, rows, scorecard_totals(rows))
