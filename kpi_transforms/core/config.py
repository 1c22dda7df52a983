"""The YAML configuration of SPEC 14: load, validate, and hand out typed settings.

Every key is optional. An unknown key (at any level we define) is an error naming the key, so a
typo such as ``busines_hours`` never silently falls back to a default.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from kpi_transforms.core import holiday_table
from kpi_transforms.core.schema import CHANNELS

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DATE_ORDERS = ("auto", "dmy", "mdy", "ymd")
# The earliest plausible local date of a message, per channel (``plausible_from``): WhatsApp
# was released in 2009; e-mail archives reach much further back.
PLAUSIBLE_FROM = {
    "whatsapp": dt.date(2009, 1, 1),
    "email": dt.date(1990, 1, 1),
    "marketplace": dt.date(2009, 1, 1),
    "other": dt.date(2009, 1, 1),
}


class ConfigError(ValueError):
    """The configuration cannot be used; the message says which key and why."""


# A config file is a few KB of hand-written YAML: anything far beyond these limits is a mistake
# or an attack (issue 15: 5,000-deep nesting, or ten levels of anchors expanding to gigabytes).
MAX_CONFIG_BYTES = 1024 * 1024
MAX_CONFIG_DEPTH = 64
MAX_CONFIG_NODES = 100_000  # after expanding every alias


class _StrictLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses duplicate mapping keys, nesting deeper than
    :data:`MAX_CONFIG_DEPTH`, and documents whose aliases expand to more than
    :data:`MAX_CONFIG_NODES` nodes (billion laughs), before anything is built."""

    def __init__(self, stream: Any):
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        self._depth += 1
        try:
            if self._depth > MAX_CONFIG_DEPTH:
                mark = self.peek_event().start_mark
                raise ConfigError(f"nested more than {MAX_CONFIG_DEPTH} levels deep (line {mark.line + 1})")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for key_node, _value in node.value:
                if isinstance(key_node, yaml.ScalarNode):
                    key = self.construct_object(key_node, deep=deep)
                    try:
                        if key in seen:
                            raise ConfigError(
                                f"duplicate key {key!r} (lines {seen[key] + 1} and {key_node.start_mark.line + 1})"
                            )
                        seen[key] = key_node.start_mark.line
                    except TypeError:
                        pass
        return super().construct_mapping(node, deep=deep)


def _expanded_size(node: Any, memo: dict[int, int]) -> int:
    """Nodes in the document once every alias is expanded (shared nodes counted per use)."""
    got = memo.get(id(node))
    if got is not None:
        return got
    memo[id(node)] = MAX_CONFIG_NODES + 1  # a recursive alias counts as too large
    if isinstance(node, yaml.SequenceNode):
        size = 1 + sum(_expanded_size(child, memo) for child in node.value)
    elif isinstance(node, yaml.MappingNode):
        size = 1 + sum(_expanded_size(k, memo) + _expanded_size(v, memo) for k, v in node.value)
    else:
        size = 1
    size = min(size, MAX_CONFIG_NODES + 1)
    memo[id(node)] = size
    return size


def safe_yaml_load(text: str, what: str) -> Any:
    """Decode one YAML document under the limits above; ``what`` names it in errors
    (:class:`ConfigError`, one line)."""
    if len(text) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{what} is larger than {MAX_CONFIG_BYTES} bytes")
    loader = _StrictLoader(text)
    try:
        try:
            node = loader.get_single_node()
        except RecursionError:
            raise ConfigError(f"{what}: nested too deeply") from None
        if node is None:
            return None
        if _expanded_size(node, {}) > MAX_CONFIG_NODES:
            raise ConfigError(f"{what}: its aliases expand to more than {MAX_CONFIG_NODES} values")
        return loader.construct_document(node)
    except ConfigError as exc:
        raise ConfigError(f"{what}: {exc}" if not str(exc).startswith(what) else str(exc)) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{what} is not valid YAML: {' '.join(str(exc).split())}") from None
    finally:
        loader.dispose()


@dataclasses.dataclass(frozen=True)
class Agent:
    id: str
    names: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class ClosedPeriod:
    start: dt.datetime  # local, minute precision, inclusive
    end: dt.datetime  # local, minute precision, inclusive (end 23:59 runs to midnight)


@dataclasses.dataclass(frozen=True)
class Config:
    timezone: str = "Asia/Jakarta"
    # weekday (0 = Monday) -> tuple of (open, close) as seconds after local midnight
    business_hours: Mapping[int, tuple[tuple[int, int], ...]] = dataclasses.field(
        default_factory=lambda: {d: ((8 * 3600, 17 * 3600),) for d in range(5)}
    )
    holiday_country: str = "ID"
    holiday_categories: tuple[str, ...] = ("public", "government")
    extra_closed: tuple[dt.date, ...] = ()
    extra_open: tuple[dt.date, ...] = ()
    closed_periods: tuple[ClosedPeriod, ...] = ()
    agents: tuple[Agent, ...] = ()
    auto_reply_patterns: tuple[str, ...] = ()
    whatsapp_date_order: str = "auto"
    thread_aliases: Mapping[str, str] = dataclasses.field(default_factory=dict)
    company_domains: tuple[str, ...] = ()
    plausible_from: Mapping[str, dt.date] = dataclasses.field(default_factory=lambda: dict(PLAUSIBLE_FROM))
    lake_dir: str = "lake"
    landing_dir: str = "landing"
    max_zip_member_bytes: int = 512 * 1024 * 1024
    max_zip_total_bytes: int = 2 * 1024 * 1024 * 1024
    # the raw ``extract:`` section; kpi_transforms.extract.settings validates and types it
    extract: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    memory_budget_mb: int = 1536  # a worker's peak memory for one ingest batch (kpi_transforms.core.memory)
    source_path: str | None = None
    kpi: "KpiSettings" = dataclasses.field(default_factory=lambda: KpiSettings())


@dataclasses.dataclass(frozen=True)
class KpiSettings:
    """The ``kpis:`` section (issue 19): conversation, handling-time, FCR and SLA parameters."""

    conversation_gap_hours: float = 24.0
    aht_idle_minutes: float = 10.0
    fcr_days: int = 7
    abandon_days: int = 30
    # Cost per contact (seed 003): the team's monthly cost in rupiah, optionally per agent.
    monthly_team_cost_idr: float | None = None
    agent_monthly_cost_idr: Mapping[str, float] = dataclasses.field(default_factory=dict)
    # First-reply SLA per channel in working minutes (seed 002: chat stricter than e-mail).
    sla_minutes: Mapping[str, float] = dataclasses.field(
        default_factory=lambda: {"whatsapp": 30.0, "marketplace": 30.0, "other": 30.0, "email": 60.0})


_KPI_KEYS = {"conversation_gap_hours", "aht_idle_minutes", "fcr_days", "abandon_days", "sla_minutes",
             "monthly_team_cost_idr", "agent_monthly_cost_idr"}


def _cost(value: Any, where: str) -> float:
    try:
        cost = float(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: {value!r} is not an amount in rupiah") from exc
    if not cost >= 0:
        raise ConfigError(f"{where}: must be 0 or more")
    return cost


def _parse_kpi_settings(raw: Any) -> KpiSettings:
    raw = raw or {}
    if not isinstance(raw, dict):
        raise ConfigError("kpis: expected a mapping")
    _unknown("kpis.", raw, _KPI_KEYS)
    kwargs: dict[str, Any] = {}
    for key in ("conversation_gap_hours", "aht_idle_minutes"):
        if key in raw:
            try:
                value = float(raw[key])
            except (TypeError, ValueError) as exc:
                raise ConfigError(f"kpis.{key}: {raw[key]!r} is not a number") from exc
            if not value > 0:
                raise ConfigError(f"kpis.{key}: must be greater than 0")
            kwargs[key] = value
    for key in ("fcr_days", "abandon_days"):
        if key in raw:
            if not isinstance(raw[key], int) or isinstance(raw[key], bool) or raw[key] < 1:
                raise ConfigError(f"kpis.{key}: {raw[key]!r} is not a whole number of days >= 1")
            kwargs[key] = raw[key]
    if raw.get("monthly_team_cost_idr") is not None:
        kwargs["monthly_team_cost_idr"] = _cost(raw["monthly_team_cost_idr"], "kpis.monthly_team_cost_idr")
    if "agent_monthly_cost_idr" in raw:
        costs = raw["agent_monthly_cost_idr"] or {}
        if not isinstance(costs, dict):
            raise ConfigError("kpis.agent_monthly_cost_idr: expected a mapping agent id -> rupiah per month")
        kwargs["agent_monthly_cost_idr"] = {str(k): _cost(v, f"kpis.agent_monthly_cost_idr.{k}") for k, v in costs.items()}
    if "sla_minutes" in raw:
        sla = raw["sla_minutes"] or {}
        if not isinstance(sla, dict):
            raise ConfigError("kpis.sla_minutes: expected a mapping channel -> working minutes")
        _unknown("kpis.sla_minutes.", sla, set(CHANNELS))
        merged = dict(KpiSettings().sla_minutes)
        for channel, minutes in sla.items():
            try:
                merged[channel] = float(minutes)
            except (TypeError, ValueError) as exc:
                raise ConfigError(f"kpis.sla_minutes.{channel}: {minutes!r} is not a number") from exc
            if not merged[channel] > 0:
                raise ConfigError(f"kpis.sla_minutes.{channel}: must be greater than 0")
        kwargs["sla_minutes"] = merged
    return KpiSettings(**kwargs)


_TOP_KEYS = {
    "timezone",
    "business_hours",
    "holidays",
    "closed_periods",
    "agents",
    "auto_reply_patterns",
    "whatsapp",
    "thread_aliases",
    "company_domains",
    "plausible_from",
    "lake_dir",
    "landing_dir",
    "zip_limits",
    "extract",
    "memory_budget_mb",
    "kpis",
}
_HOLIDAY_KEYS = {"country", "categories", "extra_closed", "extra_open"}
_AGENT_KEYS = {"id", "names", "phones", "emails"}
_WHATSAPP_KEYS = {"date_order"}
_ZIP_KEYS = {"max_member_bytes", "max_total_bytes"}
_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$|^24:00$")


def _unknown(where: str, got: Mapping[str, Any], allowed: set[str]) -> None:
    extra = sorted(set(got) - allowed)
    if extra:
        raise ConfigError(
            f"unknown config key {where}{extra[0]!r} (allowed: {', '.join(sorted(allowed))})"
        )


def _hhmm_seconds(value: Any, where: str) -> int:
    text = str(value).strip()
    if not _HHMM.match(text):
        raise ConfigError(f"{where}: {value!r} is not a time HH:MM")
    hours, minutes = text.split(":")
    return int(hours) * 3600 + int(minutes) * 60


def _date(value: Any, where: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError as exc:
        raise ConfigError(f"{where}: {value!r} is not an ISO date YYYY-MM-DD") from exc


def _local_minute(value: Any, where: str) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value.replace(second=0, microsecond=0, tzinfo=None)
    text = str(value).strip()
    for fmt in ("%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d"):
        try:
            return dt.datetime.strptime(text, fmt)
        except ValueError:
            continue
    raise ConfigError(f"{where}: {value!r} is not a local date-time 'YYYY-MM-DD HH:MM'")


def _scalar(value: Any, where: str) -> str:
    if isinstance(value, (dict, list)):
        raise ConfigError(f"{where}: expected a single value, got a {type(value).__name__}")
    return str(value)


def _str_list(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list):
        raise ConfigError(f"{where}: expected a list, got {type(value).__name__}")
    return tuple(_scalar(v, f"{where}[{i}]") for i, v in enumerate(value))


def _list(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ConfigError(f"{where}: expected a list, got {type(value).__name__}")
    return value


def _positive_int(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConfigError(f"{where}: {value!r} is not a positive whole number of bytes")
    return value


def parse_config(raw: Mapping[str, Any] | None, source_path: str | None = None) -> Config:
    """Validate a decoded YAML mapping and return a :class:`Config`."""
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise ConfigError(f"the config file must be a YAML mapping, not a {type(raw).__name__}")
    raw = dict(raw)
    _unknown("", raw, _TOP_KEYS)
    kwargs: dict[str, Any] = {"source_path": source_path}

    if "timezone" in raw:
        import zoneinfo

        try:
            zoneinfo.ZoneInfo(str(raw["timezone"]))
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
            raise ConfigError(f"timezone: unknown IANA time zone {raw['timezone']!r}") from exc
        kwargs["timezone"] = str(raw["timezone"])

    if "business_hours" in raw:
        bh = raw["business_hours"] or {}
        if not isinstance(bh, dict):
            raise ConfigError("business_hours: expected a mapping weekday -> [[open, close], ...]")
        _unknown("business_hours.", bh, set(WEEKDAYS))
        hours: dict[int, tuple[tuple[int, int], ...]] = {}
        for name, intervals in bh.items():
            day = WEEKDAYS.index(name)
            parsed: list[tuple[int, int]] = []
            for i, pair in enumerate(_list(intervals, f"business_hours.{name}")):
                where = f"business_hours.{name}[{i}]"
                if not isinstance(pair, (list, tuple)) or len(pair) != 2:
                    raise ConfigError(f"{where}: expected [open, close]")
                start, end = _hhmm_seconds(pair[0], where), _hhmm_seconds(pair[1], where)
                if end <= start:
                    raise ConfigError(f"{where}: close {pair[1]} is not after open {pair[0]}")
                parsed.append((start, end))
            parsed.sort()
            for (s1, e1), (s2, _e2) in zip(parsed, parsed[1:]):
                if s2 < e1:
                    raise ConfigError(f"business_hours.{name}: intervals overlap")
            if parsed:
                hours[day] = tuple(parsed)
        kwargs["business_hours"] = hours

    if "holidays" in raw:
        hol = raw["holidays"] or {}
        if not isinstance(hol, dict):
            raise ConfigError("holidays: expected a mapping")
        _unknown("holidays.", hol, _HOLIDAY_KEYS)
        if "country" in hol:
            kwargs["holiday_country"] = _scalar(hol["country"], "holidays.country")
        if "categories" in hol:
            kwargs["holiday_categories"] = _str_list(hol["categories"], "holidays.categories")
        _check_holidays(kwargs.get("holiday_country", "ID"), kwargs.get("holiday_categories", ("public", "government")))
        for key in ("extra_closed", "extra_open"):
            if key in hol:
                kwargs[key] = tuple(
                    _date(v, f"holidays.{key}[{i}]") for i, v in enumerate(_list(hol[key], f"holidays.{key}"))
                )

    if "closed_periods" in raw:
        periods = []
        for i, item in enumerate(_list(raw["closed_periods"], "closed_periods")):
            where = f"closed_periods[{i}]"
            if not isinstance(item, dict):
                raise ConfigError(f"{where}: expected {{start: ..., end: ...}}")
            _unknown(f"{where}.", item, {"start", "end"})
            if "start" not in item or "end" not in item:
                raise ConfigError(f"{where}: needs both start and end")
            start = _local_minute(item["start"], f"{where}.start")
            end = _local_minute(item["end"], f"{where}.end")
            if end < start:
                raise ConfigError(f"{where}: end is before start")
            periods.append(ClosedPeriod(start, end))
        kwargs["closed_periods"] = tuple(periods)

    if "agents" in raw:
        agents = []
        seen: set[str] = set()
        for i, item in enumerate(_list(raw["agents"], "agents")):
            where = f"agents[{i}]"
            if not isinstance(item, dict) or "id" not in item:
                raise ConfigError(f"{where}: expected a mapping with an 'id'")
            _unknown(f"{where}.", item, _AGENT_KEYS)
            agent_id = _scalar(item["id"], f"{where}.id").strip()
            if not agent_id or agent_id in seen:
                raise ConfigError(f"{where}: id {agent_id!r} is empty or used twice")
            seen.add(agent_id)
            agents.append(
                Agent(
                    id=agent_id,
                    names=_str_list(item.get("names"), f"{where}.names"),
                    phones=_str_list(item.get("phones"), f"{where}.phones"),
                    emails=_str_list(item.get("emails"), f"{where}.emails"),
                )
            )
        kwargs["agents"] = tuple(agents)

    if "auto_reply_patterns" in raw:
        patterns = _str_list(raw["auto_reply_patterns"], "auto_reply_patterns")
        for i, pattern in enumerate(patterns):
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ConfigError(f"auto_reply_patterns[{i}]: bad regular expression: {exc}")
        kwargs["auto_reply_patterns"] = patterns

    if "whatsapp" in raw:
        wa = raw["whatsapp"] or {}
        if not isinstance(wa, dict):
            raise ConfigError("whatsapp: expected a mapping")
        _unknown("whatsapp.", wa, _WHATSAPP_KEYS)
        order = str(wa.get("date_order", "auto")).lower()
        if order not in DATE_ORDERS:
            raise ConfigError(f"whatsapp.date_order: {order!r} is not one of {DATE_ORDERS}")
        kwargs["whatsapp_date_order"] = order

    if "thread_aliases" in raw:
        aliases = raw["thread_aliases"] or {}
        if not isinstance(aliases, dict):
            raise ConfigError("thread_aliases: expected a mapping old name -> current name")
        kwargs["thread_aliases"] = {
            _scalar(k, "thread_aliases"): _scalar(v, f"thread_aliases[{k!r}]") for k, v in aliases.items()
        }

    if "company_domains" in raw:
        kwargs["company_domains"] = tuple(
            d.lower().lstrip("@") for d in _str_list(raw["company_domains"], "company_domains")
        )
    if "plausible_from" in raw:
        given = raw["plausible_from"] or {}
        if not isinstance(given, dict):
            raise ConfigError("plausible_from: expected a mapping channel -> earliest date (YYYY-MM-DD)")
        _unknown("plausible_from.", given, set(PLAUSIBLE_FROM))
        window = dict(PLAUSIBLE_FROM)
        for channel, value in given.items():
            day = _date(value, f"plausible_from.{channel}")
            if not dt.date(1970, 1, 1) <= day <= dt.date(2100, 1, 1):
                raise ConfigError(f"plausible_from.{channel}: {day} is outside 1970-01-01 .. 2100-01-01")
            window[channel] = day
        kwargs["plausible_from"] = window
    for key in ("lake_dir", "landing_dir"):
        if key in raw:
            kwargs[key] = _scalar(raw[key], key)
    if raw.get("extract") is not None:
        if not isinstance(raw["extract"], dict):
            raise ConfigError("extract: expected a mapping of imap, s3, whatsapp_cloud, landing_dir")
        kwargs["extract"] = dict(raw["extract"])
    if "memory_budget_mb" in raw:
        budget = raw["memory_budget_mb"]
        if isinstance(budget, bool) or not isinstance(budget, int) or budget <= 0:
            raise ConfigError(f"memory_budget_mb must be a positive whole number of MiB, not {budget!r}")
        kwargs["memory_budget_mb"] = budget
    if "zip_limits" in raw:
        zl = raw["zip_limits"] or {}
        if not isinstance(zl, dict):
            raise ConfigError("zip_limits: expected a mapping")
        _unknown("zip_limits.", zl, _ZIP_KEYS)
        if "max_member_bytes" in zl:
            kwargs["max_zip_member_bytes"] = _positive_int(zl["max_member_bytes"], "zip_limits.max_member_bytes")
        if "max_total_bytes" in zl:
            kwargs["max_zip_total_bytes"] = _positive_int(zl["max_total_bytes"], "zip_limits.max_total_bytes")
    if "kpis" in raw:
        kwargs["kpi"] = _parse_kpi_settings(raw["kpis"])
    return Config(**kwargs)


def load_config(path: str | os.PathLike[str] | None = None) -> Config:
    """Read the YAML config at ``path`` (or ``$CHATKPI_CONFIG``); no file means the defaults."""
    path = path or os.environ.get("CHATKPI_CONFIG")
    if not path:
        return Config()
    file = Path(path)
    if not file.is_file():
        raise ConfigError(f"config file {str(file)!r} does not exist")
    if file.stat().st_size > MAX_CONFIG_BYTES:
        raise ConfigError(f"config file {str(file)!r} is larger than {MAX_CONFIG_BYTES} bytes")
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"config file {str(file)!r} is not UTF-8 text (byte {exc.start})") from None
    raw = safe_yaml_load(text, f"config file {str(file)!r}")
    return parse_config(raw, source_path=str(file))


def _check_holidays(country: str, categories: tuple[str, ...]) -> None:
    """Refuse an unknown holiday country or category now, with the key's name."""
    if not country:
        return
    if holiday_table.covers(country, categories):
        return  # the shipped table was generated from this very country and categories
    import holidays

    try:
        holidays.country_holidays(country, years=[], categories=categories)
    except (NotImplementedError, ValueError, KeyError) as exc:
        raise ConfigError(
            f"holidays.country: {country!r} with categories {list(categories)} is not available"
            f" ({' '.join(str(exc).split())[:200]})"
        ) from None
