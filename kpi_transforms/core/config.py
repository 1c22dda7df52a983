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

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DATE_ORDERS = ("auto", "dmy", "mdy", "ymd")


class ConfigError(ValueError):
    """The configuration cannot be used; the message says which key and why."""


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
    lake_dir: str = "lake"
    landing_dir: str = "landing"
    max_zip_member_bytes: int = 512 * 1024 * 1024
    max_zip_total_bytes: int = 2 * 1024 * 1024 * 1024
    # the raw ``extract:`` section; kpi_transforms.extract.settings validates and types it
    extract: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    source_path: str | None = None


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
    "lake_dir",
    "landing_dir",
    "zip_limits",
    "extract",
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


def _str_list(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list):
        raise ConfigError(f"{where}: expected a list, got {type(value).__name__}")
    return tuple(str(v) for v in value)


def parse_config(raw: Mapping[str, Any] | None, source_path: str | None = None) -> Config:
    """Validate a decoded YAML mapping and return a :class:`Config`."""
    raw = dict(raw or {})
    if not isinstance(raw, dict):
        raise ConfigError("the config file must be a YAML mapping")
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
            for i, pair in enumerate(intervals or []):
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
            kwargs["holiday_country"] = str(hol["country"])
        if "categories" in hol:
            kwargs["holiday_categories"] = _str_list(hol["categories"], "holidays.categories")
        for key in ("extra_closed", "extra_open"):
            if key in hol:
                kwargs[key] = tuple(
                    _date(v, f"holidays.{key}[{i}]") for i, v in enumerate(hol[key] or [])
                )

    if "closed_periods" in raw:
        periods = []
        for i, item in enumerate(raw["closed_periods"] or []):
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
        for i, item in enumerate(raw["agents"] or []):
            where = f"agents[{i}]"
            if not isinstance(item, dict) or "id" not in item:
                raise ConfigError(f"{where}: expected a mapping with an 'id'")
            _unknown(f"{where}.", item, _AGENT_KEYS)
            agent_id = str(item["id"]).strip()
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
        kwargs["thread_aliases"] = {str(k): str(v) for k, v in aliases.items()}

    if "company_domains" in raw:
        kwargs["company_domains"] = tuple(
            d.lower().lstrip("@") for d in _str_list(raw["company_domains"], "company_domains")
        )
    for key in ("lake_dir", "landing_dir"):
        if key in raw:
            kwargs[key] = str(raw[key])
    if raw.get("extract") is not None:
        if not isinstance(raw["extract"], dict):
            raise ConfigError("extract: expected a mapping of imap, s3, whatsapp_cloud, landing_dir")
        kwargs["extract"] = dict(raw["extract"])
    if "zip_limits" in raw:
        zl = raw["zip_limits"] or {}
        _unknown("zip_limits.", zl, _ZIP_KEYS)
        if "max_member_bytes" in zl:
            kwargs["max_zip_member_bytes"] = int(zl["max_member_bytes"])
        if "max_total_bytes" in zl:
            kwargs["max_zip_total_bytes"] = int(zl["max_total_bytes"])
    return Config(**kwargs)


def load_config(path: str | os.PathLike[str] | None = None) -> Config:
    """Read the YAML config at ``path`` (or ``$CHATKPI_CONFIG``); no file means the defaults."""
    path = path or os.environ.get("CHATKPI_CONFIG")
    if not path:
        return Config()
    file = Path(path)
    if not file.is_file():
        raise ConfigError(f"config file {str(file)!r} does not exist")
    try:
        raw = yaml.safe_load(file.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {str(file)!r} is not valid YAML: {exc}") from exc
    return parse_config(raw, source_path=str(file))
