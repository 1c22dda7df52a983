"""Scorecards (SPEC 9): KPI values of ``marts.fct_kpi`` against a template's targets and weights.

A template (``scorecard_templates.yaml`` ships ``customer_relations_officer`` and ``sales_chat``;
``--templates FILE`` reads another file of the same shape) lists KPIs with weight, target,
direction and cap. Per KPI::

    achievement_pct = value / target   (higher is better)  or  target / value  (lower is better)
                      in percent, floored at 0, capped at cap_pct (default 100);
                      a lower-is-better value of 0 earns the cap
    weighted_score  = achievement_pct * weight / 100

The total is shown in points and as a percentage of the weights that have data; KPIs without
data (value null) are listed, never scored 0. KPIs are read from ``marts.fct_kpi``, never
recomputed here; only the two audit KPIs (``kpi_transforms.audit``) are filled in when the
period's KPI rows lack them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kpi_transforms.core.calendar import working_seconds_of_weekday
from kpi_transforms.core.config import Config, ConfigError, safe_yaml_load
from kpi_transforms.core.contracts import contract
from kpi_transforms.core.errors import ChatKpiError
from kpi_transforms.core.periods import Period, parse_period
from kpi_transforms.metrics.catalogue import KPI_CODES

DEFAULT_TEMPLATES = Path(__file__).resolve().parent / "scorecard_templates.yaml"
DIRECTIONS = ("higher", "lower")

SCORECARD_CONTRACT = contract("fct_scorecard")  # columns and Arrow types of marts.fct_scorecard
TOTAL_COLUMNS = [
    "template", "period_type", "period_start", "agent_id", "total_points", "weights_with_data", "weights_total",
    "total_pct_of_covered", "kpis_without_data",
]


class ScorecardError(ChatKpiError):
    """A scorecard template cannot be used, or a scorecard cannot be computed."""


@dataclasses.dataclass(frozen=True)
class ScorecardKpi:
    """One KPI line of a template."""

    kpi_code: str
    weight: float
    direction: str  # higher | lower
    target: float | None = None
    target_per_year: float | None = None
    target_rule: str | None = None  # working_day
    cap_pct: float = 100.0
    unit: str | None = None
    label_id: str | None = None
    label_en: str | None = None

    def target_for(self, period_type: str, working_day_seconds: float) -> float:
        """The target in the KPI's raw unit for a period of this type."""
        if self.target is not None:
            return float(self.target)
        if self.target_per_year is not None:
            return float(self.target_per_year) / (4.0 if period_type == "quarter" else 12.0)
        return float(working_day_seconds)  # target_rule == "working_day"

    def label(self, lang: str = "id") -> str:
        return (self.label_en if lang == "en" else self.label_id) or self.kpi_code

    @property
    def resolved_unit(self) -> str | None:
        return self.unit or default_unit(self.kpi_code)


@dataclasses.dataclass(frozen=True)
class ScorecardTemplate:
    name: str
    kpis: tuple[ScorecardKpi, ...]
    description_id: str = ""
    description_en: str = ""

    @property
    def kpi_codes(self) -> list[str]:
        return [k.kpi_code for k in self.kpis]

    def description(self, lang: str = "id") -> str:
        return (self.description_en if lang == "en" else self.description_id) or self.name


def default_unit(kpi_code: str) -> str | None:
    """The raw unit of a KPI code as the KPI catalogue states it (:data:`KPI_CODES`, SPEC 8);
    None for a code the catalogue does not know (a custom template's: give ``unit`` there, or
    the ``marts.fct_kpi`` row's unit is used). Never guessed from the code's name."""
    return KPI_CODES.get(kpi_code)


def working_day_seconds(config: Config | None) -> float:
    """One working day for targets (SPEC 8): Monday's working seconds in the config (9 h by
    default); where Monday is closed, the first weekday that has hours."""
    config = config or Config()
    for day in range(7):
        seconds = working_seconds_of_weekday(config.business_hours, day)
        if seconds:
            return float(seconds)
    return 9 * 3600.0


_KPI_KEYS = {"kpi", "weight", "direction", "target", "target_per_year", "target_rule", "cap_pct", "unit", "label"}
_TEMPLATE_KEYS = {"description", "kpis"}


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ScorecardError(f"{where}: {value!r} is not a number")
    return float(value)


def _texts(value: Any, where: str) -> tuple[str, str]:
    if value is None:
        return "", ""
    if isinstance(value, str):
        return value, value
    if isinstance(value, Mapping) and set(value) <= {"id", "en"}:
        return str(value.get("id") or value.get("en") or ""), str(value.get("en") or value.get("id") or "")
    raise ScorecardError(f"{where}: expected a text or {{id: ..., en: ...}}")


def parse_templates(raw: Any, source: str = "templates") -> dict[str, ScorecardTemplate]:
    """Validate a decoded YAML mapping of templates; unknown keys are errors naming the key."""
    if not isinstance(raw, Mapping) or not raw:
        raise ScorecardError(f"{source}: expected a mapping template name -> {{kpis: [...]}}")
    out: dict[str, ScorecardTemplate] = {}
    for name, body in raw.items():
        where = f"{source}: {name}"
        if not isinstance(body, Mapping) or "kpis" not in body:
            raise ScorecardError(f"{where}: expected a mapping with 'kpis'")
        extra = sorted(set(body) - _TEMPLATE_KEYS)
        if extra:
            raise ScorecardError(f"{where}: unknown key {extra[0]!r}")
        kpis: list[ScorecardKpi] = []
        seen: set[str] = set()
        for i, item in enumerate(body["kpis"] or []):
            at = f"{where}.kpis[{i}]"
            if not isinstance(item, Mapping) or "kpi" not in item:
                raise ScorecardError(f"{at}: expected a mapping with 'kpi'")
            extra = sorted(set(item) - _KPI_KEYS)
            if extra:
                raise ScorecardError(f"{at}: unknown key {extra[0]!r}")
            code = str(item["kpi"])
            if code in seen:
                raise ScorecardError(f"{at}: KPI {code!r} listed twice")
            seen.add(code)
            direction = str(item.get("direction", "higher"))
            if direction not in DIRECTIONS:
                raise ScorecardError(f"{at}: direction {direction!r} is not higher or lower")
            targets = [k for k in ("target", "target_per_year", "target_rule") if item.get(k) is not None]
            if len(targets) != 1:
                raise ScorecardError(f"{at}: give exactly one of target, target_per_year, target_rule")
            target = _number(item["target"], f"{at}.target") if "target" in targets else None
            per_year = _number(item["target_per_year"], f"{at}.target_per_year") if "target_per_year" in targets else None
            rule = str(item["target_rule"]) if "target_rule" in targets else None
            if rule is not None and rule != "working_day":
                raise ScorecardError(f"{at}.target_rule: {rule!r} is not working_day")
            if (target is not None and target <= 0) or (per_year is not None and per_year <= 0):
                raise ScorecardError(f"{at}: the target must be above 0")
            weight = _number(item.get("weight"), f"{at}.weight")
            cap = _number(item.get("cap_pct", 100), f"{at}.cap_pct")
            if weight < 0 or cap <= 0:
                raise ScorecardError(f"{at}: weight must be >= 0 and cap_pct > 0")
            label_id, label_en = _texts(item.get("label"), f"{at}.label")
            kpis.append(
                ScorecardKpi(code, weight, direction, target, per_year, rule, cap,
                             str(item["unit"]) if item.get("unit") else None, label_id or None, label_en or None)
            )
        if not kpis:
            raise ScorecardError(f"{where}: no KPIs")
        desc_id, desc_en = _texts(body.get("description"), f"{where}.description")
        out[str(name)] = ScorecardTemplate(str(name), tuple(kpis), desc_id, desc_en)
    return out


def load_templates(path: str | Path | None = None) -> dict[str, ScorecardTemplate]:
    """The templates of ``path``, or the two shipped ones."""
    file = Path(path) if path else DEFAULT_TEMPLATES
    if not file.is_file():
        raise ScorecardError(f"scorecard template file {str(file)!r} does not exist")
    try:
        raw = safe_yaml_load(file.read_text(encoding="utf-8"), f"scorecard template file {str(file)!r}")
    except UnicodeDecodeError as exc:
        raise ScorecardError(f"scorecard template file {str(file)!r} is not UTF-8 text (byte {exc.start})") from None
    except ConfigError as exc:  # duplicate keys, depth, alias expansion, syntax: one line
        raise ScorecardError(str(exc)) from None
    return parse_templates(raw, file.name)


def get_template(name: str, path: str | Path | None = None) -> ScorecardTemplate:
    templates = load_templates(path)
    if name not in templates:
        raise ScorecardError(f"unknown scorecard template {name!r} (known: {', '.join(sorted(templates))})")
    return templates[name]


def achievement_pct(value: np.ndarray, target: np.ndarray, direction: np.ndarray, cap: np.ndarray) -> np.ndarray:
    """Vectorised achievement in percent; NaN where value is NaN."""
    value = np.asarray(value, dtype=float)
    target = np.asarray(target, dtype=float)
    cap = np.asarray(cap, dtype=float)
    lower = np.asarray(direction) == "lower"
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(lower, target / value, value / target) * 100.0
    ratio = np.where(lower & (value <= 0), cap, ratio)  # a lower-is-better value of 0 earns the cap
    out = np.clip(ratio, 0.0, cap)
    return np.where(np.isnan(value), np.nan, out)


def fct_scorecard(
    kpis: pd.DataFrame,
    template: ScorecardTemplate,
    period: Period | str,
    config: Config | None = None,
    *,
    agent_id: str | None = None,
    computed_at: pd.Timestamp | None = None,
) -> pd.DataFrame:
    """One row per agent (plus the team, agent_id null) and template KPI for one period.

    ``kpis`` holds ``marts.fct_kpi`` rows; rows of other periods are ignored. With ``agent_id``
    only that agent's scorecard is built. Agents are those with any KPI row in the period."""
    period = parse_period(period) if isinstance(period, str) else period
    frame = kpis.copy()
    if len(frame):
        frame = frame[(frame["period_type"] == period.period_type)
                      & (pd.to_datetime(frame["period_start"]).dt.date == period.start)]
    frame["agent_key"] = frame["agent_id"].where(frame["agent_id"].notna(), "") if len(frame) else pd.Series(dtype=object)
    if agent_id is not None:
        agents = [agent_id]
    else:
        agents = [""] + sorted(a for a in frame["agent_key"].unique() if a)
    day = working_day_seconds(config)
    lines = pd.DataFrame(
        [{"kpi_code": k.kpi_code, "direction": k.direction, "tpl_unit": k.resolved_unit, "cap_pct": k.cap_pct,
          "weight": k.weight, "target": k.target_for(period.period_type, day), "order": i}
         for i, k in enumerate(template.kpis)]
    )
    grid = pd.DataFrame({"agent_key": agents}).merge(lines, how="cross")
    values = frame.drop_duplicates(["agent_key", "kpi_code"], keep="last")[["agent_key", "kpi_code", "value", "unit", "note"]] \
        if len(frame) else pd.DataFrame(columns=["agent_key", "kpi_code", "value", "unit", "note"])
    out = grid.merge(values, on=["agent_key", "kpi_code"], how="left", indicator=True)
    out["value"] = pd.to_numeric(out["value"], errors="coerce").astype(float)
    missing_row = (out["_merge"] == "left_only").to_numpy()
    no_value = out["value"].isna().to_numpy()
    note = out["note"].astype(object).where(out["note"].notna(), None)
    note = np.where(missing_row, "no data: KPI not computed for this period (no marts.fct_kpi row)", note)
    note = np.where(no_value & ~missing_row & pd.isna(note), "no data", note)
    note = np.where(no_value, note, None)  # a note is kept only to say why a value is missing
    ach = achievement_pct(out["value"].to_numpy(), out["target"].to_numpy(), out["direction"].to_numpy(), out["cap_pct"].to_numpy())
    result = pd.DataFrame(
        {
            "template": template.name,
            "period_type": period.period_type,
            "period_start": period.start,
            "agent_id": pd.Series([a or None for a in out["agent_key"]], dtype=object),
            "kpi_code": out["kpi_code"],
            "direction": out["direction"],
            "unit": out["unit"].where(out["unit"].notna(), out["tpl_unit"]).astype(object),
            "value": out["value"],
            "target": out["target"].astype(float),
            "cap_pct": out["cap_pct"].astype(float),
            "achievement_pct": ach,
            "weight": out["weight"].astype(float),
            "weighted_score": ach * out["weight"].to_numpy(dtype=float) / 100.0,
            "note": pd.Series(note, dtype=object).where(pd.notna(note), None),
            "computed_at": computed_at if computed_at is not None else pd.Timestamp.now(tz="UTC"),
            "_order": out["order"],
        }
    )
    result["_team"] = result["agent_id"].isna()
    result = result.sort_values(["_team", "agent_id", "_order"], ascending=[False, True, True], kind="stable")
    return result.drop(columns=["_order", "_team"]).reset_index(drop=True)


def scorecard_totals(frame: pd.DataFrame) -> pd.DataFrame:
    """Per template, period and agent: points, the weights with data, and the total as a
    percentage of those weights; KPIs without data listed in template order."""
    rows = []
    if frame.empty:
        return pd.DataFrame(columns=TOTAL_COLUMNS)
    keys = ["template", "period_type", "period_start", "agent_id"]
    for key, group in frame.groupby(keys, dropna=False, sort=False):
        has = group["value"].notna()
        covered = float(group.loc[has, "weight"].sum())
        points = float(group.loc[has, "weighted_score"].sum())
        rows.append(
            dict(zip(keys, key))
            | {"total_points": points if has.any() else None, "weights_with_data": covered,
               "weights_total": float(group["weight"].sum()),
               "total_pct_of_covered": 100.0 * points / covered if covered > 0 else None,
               "kpis_without_data": list(group.loc[~has, "kpi_code"])}
        )
    out = pd.DataFrame(rows, columns=TOTAL_COLUMNS)
    out["agent_id"] = out["agent_id"].where(out["agent_id"].notna(), None)
    return out


@dataclasses.dataclass
class ScorecardResult:
    period: Period
    templates: list[ScorecardTemplate]
    rows: pd.DataFrame  # fct_scorecard rows of all templates
    totals: pd.DataFrame
