"""Scorecards (SPEC 9): hand-computed achievement and points, the shipped templates, storage
that replaces a period, and ``chatkpi scorecard`` on the demo warehouse."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import pandas as pd
import pyarrow as pa
import pytest

from kpi_transforms.core.config import Config, parse_config
from kpi_transforms.core.periods import parse_period
from kpi_transforms.metrics.catalogue import KPI_SCHEMA
from kpi_transforms.metrics.scorecards import (
    ScorecardError,
    achievement_pct,
    default_unit,
    fct_scorecard,
    load_templates,
    parse_templates,
    scorecard_totals,
    working_day_seconds,
)
from kpi_transforms.pipeline.scorecards import compute_scorecards
from kpi_transforms.present.scorecards import render_scorecards
from kpi_transforms.warehouse.engine import Warehouse
from tests.test_bi_views import DEMO, demo_duckdb  # noqa: F401 - fixture

Q1 = dt.date(2025, 1, 1)

TEMPLATE = parse_templates(
    {
        "test": {
            "kpis": [
                {"kpi": "frt_fast", "weight": 10, "direction": "lower", "target": 900},
                {"kpi": "frt_slow", "weight": 10, "direction": "lower", "target": 900},
                {"kpi": "rate_half", "weight": 20, "direction": "higher", "target": 90},
                {"kpi": "rate_over", "weight": 5, "direction": "higher", "target": 90, "cap_pct": 120},
                {"kpi": "zero_wait", "weight": 5, "direction": "lower", "target": 600},
                {"kpi": "growth", "weight": 20, "direction": "higher", "target": 10},
                {"kpi": "customers", "weight": 15, "direction": "higher", "target_per_year": 5},
                {"kpi": "no_data", "weight": 10, "direction": "higher", "target": 15},
                {"kpi": "not_computed", "weight": 5, "direction": "lower", "target_rule": "working_day"},
            ]
        }
    }
)["test"]


def kpi_rows(values: dict[str, float | None], agent: str | None = None, period_start: dt.date = Q1, period_type: str = "quarter") -> list[dict]:
    return [
        {"kpi_code": code, "period_type": period_type, "period_start": period_start, "agent_id": agent, "value": value,
         "unit": default_unit(code), "basis_count": 0 if value is None else 3,
         "note": "no data: no follow-ups in the period" if value is None else None}
        for code, value in values.items()
    ]


def test_achievement_and_points_by_hand():
    kpis = pd.DataFrame(kpi_rows({
        "frt_fast": 12 * 60.0,     # 12 min vs <= 15 min: 125 % -> capped at 100
        "frt_slow": 20 * 60.0,     # 20 min vs <= 15 min: 900 / 1200 = 75 % -> 7.5 points of 10
        "rate_half": 45.0,         # 45 vs >= 90: 50 % -> 10 points of 20
        "rate_over": 120.0,        # 133.3 % capped at this KPI's own cap 120 % -> 6 points of 5
        "zero_wait": 0.0,          # lower-is-better value 0 earns the cap
        "growth": -4.0,            # negative growth floors at 0 %
        "customers": 1.0,          # 1 vs 5 a year = 1.25 a quarter: 80 % -> 12 points
        "no_data": None,           # value null: no points, weight not covered
    }))
    # rows of another period are ignored
    kpis = pd.concat([kpis, pd.DataFrame(kpi_rows({"frt_fast": 99999.0}, period_start=dt.date(2024, 10, 1)))])
    frame = fct_scorecard(kpis, TEMPLATE, "2025-Q1")
    got = frame.set_index("kpi_code")
    assert list(frame["kpi_code"]) == TEMPLATE.kpi_codes and frame["agent_id"].isna().all()
    expected_pct = {"frt_fast": 100.0, "frt_slow": 75.0, "rate_half": 50.0, "rate_over": 120.0, "zero_wait": 100.0,
                    "growth": 0.0, "customers": 80.0}
    expected_points = {"frt_fast": 10.0, "frt_slow": 7.5, "rate_half": 10.0, "rate_over": 6.0, "zero_wait": 5.0,
                       "growth": 0.0, "customers": 12.0}
    for code, pct in expected_pct.items():
        assert got.loc[code, "achievement_pct"] == pytest.approx(pct), code
        assert got.loc[code, "weighted_score"] == pytest.approx(expected_points[code]), code
        assert got.loc[code, "note"] is None
    assert got.loc["customers", "target"] == pytest.approx(1.25)
    assert got.loc["not_computed", "target"] == 9 * 3600  # Monday of the default config
    for code in ("no_data", "not_computed"):
        assert pd.isna(got.loc[code, "achievement_pct"]) and pd.isna(got.loc[code, "weighted_score"])
    assert got.loc["no_data", "note"] == "no data: no follow-ups in the period"
    assert "not computed" in got.loc["not_computed", "note"]

    (total,) = scorecard_totals(frame).to_dict("records")
    assert total["total_points"] == pytest.approx(50.5)
    assert total["weights_with_data"] == 85.0  # 100 minus no_data (10) and not_computed (5)
    assert total["weights_total"] == 100.0
    assert total["total_pct_of_covered"] == pytest.approx(100 * 50.5 / 85)
    assert total["kpis_without_data"] == ["no_data", "not_computed"]


def test_monthly_targets_agents_and_empty_input():
    kpis = pd.DataFrame(
        kpi_rows({"customers": 1.0}, period_start=dt.date(2025, 3, 1), period_type="month")
        + kpi_rows({"customers": 0.0, "frt_slow": 1800.0}, agent="lia", period_start=dt.date(2025, 3, 1), period_type="month")
    )
    frame = fct_scorecard(kpis, TEMPLATE, parse_period("2025-03"))
    assert list(dict.fromkeys(frame["agent_id"])) == [None, "lia"]
    team = frame[frame["agent_id"].isna()].set_index("kpi_code")
    lia = frame[frame["agent_id"] == "lia"].set_index("kpi_code")
    assert team.loc["customers", "target"] == pytest.approx(5 / 12)
    assert team.loc["customers", "achievement_pct"] == 100.0  # 1 > 0.4167, capped
    assert lia.loc["customers", "achievement_pct"] == 0.0
    assert lia.loc["frt_slow", "achievement_pct"] == 50.0
    assert pd.isna(team.loc["frt_slow", "value"])  # the team has no row for it: listed without data
    only = fct_scorecard(kpis, TEMPLATE, "2025-03", agent_id="lia")
    assert set(only["agent_id"]) == {"lia"}
    empty = fct_scorecard(pd.DataFrame(columns=KPI_SCHEMA.names), TEMPLATE, "2025-Q1")
    assert len(empty) == len(TEMPLATE.kpis) and empty["value"].isna().all()
    (total,) = scorecard_totals(empty).to_dict("records")
    assert total["total_points"] is None and total["total_pct_of_covered"] is None and total["weights_with_data"] == 0


def test_achievement_vector_edges():
    import numpy as np

    got = achievement_pct(np.array([0.0, 450.0, np.nan, 10.0]), np.array([900.0, 900.0, 900.0, 900.0]),
                          np.array(["lower", "lower", "lower", "higher"]), np.array([100.0, 150.0, 100.0, 100.0]))
    assert got[0] == 100.0 and got[1] == 150.0 and np.isnan(got[2]) and got[3] == pytest.approx(10 / 9)


def test_shipped_templates():
    templates = load_templates()
    assert sorted(templates) == ["balanced_service", "customer_relations_officer", "sales_chat"]
    cro, sales = templates["customer_relations_officer"], templates["sales_chat"]
    assert {k.kpi_code: k.weight for k in cro.kpis} == {
        "response_validated_rate": 10, "response_speed_rate": 5, "revenue_growth_qoq": 20, "new_customers": 15,
        "followups_per_month": 10, "reorder_rate": 10,
    }
    day = working_day_seconds(Config())
    targets = {k.kpi_code: (k.direction, k.target_for("quarter", day)) for k in cro.kpis + sales.kpis}
    assert targets == {
        "response_validated_rate": ("higher", 90.0), "response_speed_rate": ("higher", 90.0),
        "revenue_growth_qoq": ("higher", 10.0), "new_customers": ("higher", 1.25), "followups_per_month": ("higher", 15.0),
        "reorder_rate": ("higher", 20.0), "frt_new_customer": ("lower", 900.0), "quote_response_avg": ("lower", 1800.0),
        "followup_conversion_rate": ("higher", 35.0), "complaint_response_avg": ("lower", 600.0),
        "complaint_resolution_avg": ("lower", 32400.0), "repeat_complaint_rate": ("lower", 5.0),
    }
    assert sum(k.weight for k in sales.kpis) == 100
    balanced = templates["balanced_service"]
    assert {k.kpi_code: (k.weight, k.direction, k.target_for("month", day)) for k in balanced.kpis} == {
        "sla_compliance_rate": (20, "higher", 90.0), "frt_avg": (15, "lower", 1800.0), "csat_rate": (15, "higher", 80.0),
        "fcr_rate": (15, "higher", 70.0), "qa_first_reply_rate": (10, "higher", 90.0), "aht_avg": (15, "lower", 600.0),
        "art_avg": (10, "lower", 32400.0),
    }
    assert sum(k.weight for k in balanced.kpis) == 100
    # one working day = Monday's hours of the config: 08-12 + 13-17 in the demo config
    demo = parse_config({"business_hours": {"mon": [["08:00", "12:00"], ["13:00", "17:00"]]}})
    assert working_day_seconds(demo) == 8 * 3600


@pytest.mark.parametrize(
    "body, message",
    [
        ({"t": {"kpis": [{"kpi": "a", "weight": 1, "target": 1, "colour": "red"}]}}, "unknown key 'colour'"),
        ({"t": {"kpis": [{"kpi": "a", "weight": 1, "target": 1, "target_per_year": 4}]}}, "exactly one of"),
        ({"t": {"kpis": [{"kpi": "a", "weight": 1, "target": 1, "direction": "up"}]}}, "direction 'up'"),
        ({"t": {"kpis": [{"kpi": "a", "weight": 1, "target": 0}]}}, "above 0"),
        ({"t": {"kpis": [{"kpi": "a", "weight": "ten", "target": 1}]}}, "not a number"),
        ({"t": {"kpis": [{"kpi": "a", "weight": 1, "target": 1}, {"kpi": "a", "weight": 1, "target": 2}]}}, "listed twice"),
    ],
)
def test_template_errors_name_the_problem(body, message):
    with pytest.raises(ScorecardError, match=message):
        parse_templates(body)


def test_templates_file_option(tmp_path):
    file = tmp_path / "t.yaml"
    file.write_text("mine:\n  kpis:\n    - {kpi: frt_avg, weight: 3, direction: lower, target: 600}\n", encoding="utf-8")
    assert list(load_templates(file)) == ["mine"]
    with pytest.raises(ScorecardError, match="does not exist"):
        load_templates(tmp_path / "missing.yaml")


def test_store_replaces_the_period(warehouse_url):
    wh = Warehouse(warehouse_url)
    wh.init()
    rows = kpi_rows({"frt_new_customer": 600.0, "quote_response_avg": 3600.0}) + kpi_rows({"frt_new_customer": 1800.0}, agent="lia")
    frame = pd.DataFrame(rows).assign(computed_at=pd.Timestamp("2025-04-08", tz="UTC"))
    with wh.begin() as conn:
        wh.bulk_insert(conn, "marts.fct_kpi", pa.Table.from_pandas(frame, schema=KPI_SCHEMA, preserve_index=False))
    config = Config()
    first = compute_scorecards(wh, config, "2025-Q1", template="sales_chat")
    again = compute_scorecards(wh, config, "2025-Q1", template="sales_chat")
    stored = wh.read_df("select * from marts.fct_scorecard")
    assert len(stored) == len(first.rows) == len(again.rows) == 12  # team + lia, 6 KPIs each: no duplicates
    assert stored["agent_id"].isna().sum() == 6
    team = stored[stored["agent_id"].isna()].set_index("kpi_code")
    assert team.loc["frt_new_customer", "achievement_pct"] == 100.0
    assert team.loc["quote_response_avg", "achievement_pct"] == pytest.approx(50.0)
    assert team.loc["quote_response_avg", "weighted_score"] == pytest.approx(7.5)
    totals = wh.read_df("select * from bi.v_scorecard_total where is_team")
    assert totals["total_points"].iloc[0] == pytest.approx(27.5)
    assert totals["weights_with_data"].iloc[0] == 35 and totals["total_pct_of_covered"].iloc[0] == pytest.approx(100 * 27.5 / 35)
    assert totals["kpis_without_data"].iloc[0] == (
        "complaint_resolution_avg, complaint_response_avg, followup_conversion_rate, repeat_complaint_rate"
    )
    # --agent replaces only that agent's rows
    with wh.begin() as conn:
        wh.execute(conn, "update marts.fct_kpi set value = 900 where agent_id = 'lia'")
    compute_scorecards(wh, config, "2025-Q1", template="sales_chat", agent_id="lia")
    stored = wh.read_df("select * from marts.fct_scorecard")
    assert len(stored) == 12
    lia = stored[(stored["agent_id"] == "lia") & (stored["kpi_code"] == "frt_new_customer")]
    assert lia["achievement_pct"].iloc[0] == 100.0
    text = render_scorecards(again)
    assert "Total: 27,5 poin dari bobot 35 yang ada datanya = 78,6 % (bobot template 100)" in text
    assert "≤ 15 menit" in text and "≤ 9 jam" in text


def test_cli_scorecard_computes_missing_kpis(demo_duckdb, tmp_path):
    cfg = str(DEMO / "chatkpi.yaml")
    done = subprocess.run(
        [sys.executable, "-m", "kpi_transforms.cli", "--config", cfg, "--warehouse", demo_duckdb, "scorecard",
         "--period", "2025-Q1", "--template", "customer_relations_officer", "--lang", "en"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "Scorecard customer_relations_officer — period 2025-Q1, team" in done.stdout
    assert "Scorecard customer_relations_officer — period 2025-Q1, agent lia" in done.stdout
    assert done.stdout.count("(template weight 70)") == 3  # the total line of the team, lia and rina
    wh = Warehouse(demo_duckdb)
    kpis = wh.read_df("select kpi_code, agent_id, value, note from marts.fct_kpi where period_start = '2025-01-01'")
    assert {"response_rate_1wd", "frt_avg", "response_validated_rate", "response_speed_rate"} <= set(kpis["kpi_code"])
    audit = kpis[kpis["kpi_code"] == "response_validated_rate"]
    assert audit["value"].isna().all() and audit["note"].str.contains("no sample validated").all()
    assert wh.scalar("select count(*) from marts.fct_scorecard where template = 'customer_relations_officer'") == 18
    bad = subprocess.run(
        [sys.executable, "-m", "kpi_transforms.cli", "--warehouse", demo_duckdb, "scorecard", "--period", "2025-Q1",
         "--template", "nope"], cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )
    assert bad.returncode == 2 and bad.stderr.strip().startswith("chatkpi: error: unknown scorecard template 'nope'")
