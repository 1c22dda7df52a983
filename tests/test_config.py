import datetime as dt

import pytest

from kpi_transforms.core.config import Config, ConfigError, load_config, parse_config


def test_defaults_follow_spec_14():
    cfg = parse_config({})
    assert cfg.timezone == "Asia/Jakarta"
    assert cfg.business_hours == {d: ((8 * 3600, 17 * 3600),) for d in range(5)}
    assert cfg.holiday_categories == ("public", "government")
    assert cfg.whatsapp_date_order == "auto"
    assert cfg == Config()


def test_full_file_round_trip(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(
        """
timezone: Asia/Makassar
business_hours:
  mon: [["08:00", "12:00"], ["13:00", "17:00"]]
  sat: [["08:00", "12:00"]]
holidays: {country: ID, categories: [public], extra_closed: ["2025-02-14"], extra_open: [2025-03-01]}
closed_periods: [{start: "2025-06-01 00:00", end: "2025-06-03 23:59"}]
agents:
  - {id: lia, names: ["Lia Sales"], phones: ["0811-2000-0001"], emails: ["Lia@X.co.id"]}
auto_reply_patterns: ["^Terima kasih"]
whatsapp: {date_order: mdy}
thread_aliases: {"Pak Budi": "Budi Santoso"}
"""
    )
    cfg = load_config(path)
    assert cfg.timezone == "Asia/Makassar"
    assert cfg.business_hours == {0: ((28800, 43200), (46800, 61200)), 5: ((28800, 43200),)}
    assert cfg.extra_closed == (dt.date(2025, 2, 14),)
    assert cfg.extra_open == (dt.date(2025, 3, 1),)
    assert cfg.closed_periods[0].start == dt.datetime(2025, 6, 1, 0, 0)
    assert cfg.closed_periods[0].end == dt.datetime(2025, 6, 3, 23, 59)
    assert cfg.agents[0].id == "lia" and cfg.agents[0].names == ("Lia Sales",)
    assert cfg.whatsapp_date_order == "mdy"
    assert cfg.thread_aliases == {"Pak Budi": "Budi Santoso"}


@pytest.mark.parametrize(
    "raw, message",
    [
        ({"busines_hours": {}}, "unknown config key 'busines_hours'"),
        ({"holidays": {"country": "ID", "extra": []}}, "unknown config key holidays.'extra'"),
        ({"business_hours": {"monday": []}}, "unknown config key business_hours.'monday'"),
        ({"business_hours": {"mon": [["17:00", "08:00"]]}}, "close 08:00 is not after open 17:00"),
        ({"business_hours": {"mon": [["8am", "17:00"]]}}, "is not a time HH:MM"),
        ({"business_hours": {"mon": [["08:00", "12:00"], ["11:00", "13:00"]]}}, "intervals overlap"),
        ({"timezone": "Asia/Jakartaa"}, "unknown IANA time zone"),
        ({"whatsapp": {"date_order": "dd/mm"}}, "whatsapp.date_order"),
        ({"agents": [{"id": "a"}, {"id": "a"}]}, "used twice"),
        ({"agents": [{"id": "a", "name": "x"}]}, "unknown config key agents[0].'name'"),
        ({"closed_periods": [{"start": "2025-06-03 00:00", "end": "2025-06-01 00:00"}]}, "end is before start"),
        ({"auto_reply_patterns": ["("]}, "bad regular expression"),
        ({"holidays": {"extra_open": ["31/02/2025"]}}, "is not an ISO date"),
    ],
)
def test_bad_config_names_the_key(raw, message):
    with pytest.raises(ConfigError) as info:
        parse_config(raw)
    assert message in str(info.value)


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.yaml")


def test_empty_business_day_means_closed():
    cfg = parse_config({"business_hours": {"mon": [["08:00", "17:00"]], "tue": []}})
    assert cfg.business_hours == {0: ((28800, 61200),)}


def test_kpis_section_issue_19():
    from kpi_transforms.core.config import ConfigError, parse_config

    cfg = parse_config({"kpis": {"sla_minutes": {"email": 120}, "fcr_days": 3, "monthly_team_cost_idr": "15000000",
                                 "agent_monthly_cost_idr": {"lia": 5000000}}})
    assert cfg.kpi.sla_minutes == {"whatsapp": 30.0, "marketplace": 30.0, "other": 30.0, "email": 120.0}
    assert (cfg.kpi.fcr_days, cfg.kpi.abandon_days, cfg.kpi.aht_idle_minutes) == (3, 30, 10.0)
    assert (cfg.kpi.monthly_team_cost_idr, dict(cfg.kpi.agent_monthly_cost_idr)) == (15000000.0, {"lia": 5000000.0})
    assert parse_config({}).kpi.monthly_team_cost_idr is None
    for bad, message in (({"sla_minutes": {"sms": 5}}, "unknown config key kpis.sla_minutes.'sms'"),
                         ({"fcr_days": 0}, "kpis.fcr_days"), ({"aht_idle_minutes": "x"}, "kpis.aht_idle_minutes"),
                         ({"monthly_team_cost_idr": -1}, "kpis.monthly_team_cost_idr"), ({"gap": 1}, "unknown config key kpis.'gap'")):
        try:
            parse_config({"kpis": bad})
        except ConfigError as exc:
            assert message in str(exc), (message, str(exc))
        else:
            raise AssertionError(f"{bad} accepted")
