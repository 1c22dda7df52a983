"""The audit-calendar timetable: run dates on the first working day, data intervals from local
midnight to local midnight, catch-up, manual runs, backfill bounds and serialisation."""

from __future__ import annotations

import datetime as dt

import pendulum
import pytest
from airflow.exceptions import AirflowTimetableInvalid
from airflow.timetables.base import DataInterval, TimeRestriction
from chatkpi_plugins import timetable as tt
from chatkpi_plugins.timetable import AuditCalendarTimetable

JKT = "Asia/Jakarta"
CATCHUP = TimeRestriction(earliest=None, latest=None, catchup=True)


def local(y: int, m: int, d: int, hour: int = 0) -> pendulum.DateTime:
    return pendulum.datetime(y, m, d, hour, tz=JKT)


def utc(text: str) -> pendulum.DateTime:
    return pendulum.parse(text)


def interval(y1, m1, y2, m2) -> DataInterval:
    return DataInterval(local(y1, m1, 1).in_timezone("UTC"), local(y2, m2, 1).in_timezone("UTC"))


def after(timetable: AuditCalendarTimetable, previous: DataInterval, restriction: TimeRestriction = CATCHUP):
    return timetable.next_dagrun_info(last_automated_data_interval=previous, restriction=restriction)


QUARTERLY = AuditCalendarTimetable(mode="quarterly", hour=7)
MONTHLY = AuditCalendarTimetable(mode="monthly", hour=7)


@pytest.mark.parametrize(
    ("timetable", "previous", "expected_interval", "run_date"),
    [
        # Q4 2024 -> Thursday 2 January 2025 (1 January is New Year's Day)
        (QUARTERLY, interval(2024, 7, 2024, 10), interval(2024, 10, 2025, 1), dt.date(2025, 1, 2)),
        # Q1 2025 -> Tuesday 8 April (1 April Idul Fitri, 2-7 April cuti bersama, 5-6 weekend)
        (QUARTERLY, interval(2024, 10, 2025, 1), interval(2025, 1, 2025, 4), dt.date(2025, 4, 8)),
        (QUARTERLY, interval(2025, 1, 2025, 4), interval(2025, 4, 2025, 7), dt.date(2025, 7, 1)),
        (QUARTERLY, interval(2025, 4, 2025, 7), interval(2025, 7, 2025, 10), dt.date(2025, 10, 1)),
        # Q4 2025 -> Friday 2 January 2026
        (QUARTERLY, interval(2025, 7, 2025, 10), interval(2025, 10, 2026, 1), dt.date(2026, 1, 2)),
        # April 2025 -> Friday 2 May (1 May Labour Day); May 2025 -> Monday 2 June (1 June Sunday)
        (MONTHLY, interval(2025, 3, 2025, 4), interval(2025, 4, 2025, 5), dt.date(2025, 5, 2)),
        (MONTHLY, interval(2025, 4, 2025, 5), interval(2025, 5, 2025, 6), dt.date(2025, 6, 2)),
    ],
)
def test_runs_on_the_first_working_day_at_seven_local(timetable, previous, expected_interval, run_date):
    info = after(timetable, previous)
    assert info.data_interval == expected_interval
    assert info.run_after == local(run_date.year, run_date.month, run_date.day, 7)
    assert info.logical_date == expected_interval.start


def test_q1_2025_interval_is_local_midnight_to_local_midnight():
    info = after(QUARTERLY, interval(2024, 10, 2025, 1))
    assert info.data_interval == DataInterval(utc("2024-12-31T17:00:00Z"), utc("2025-03-31T17:00:00Z"))
    assert info.run_after == utc("2025-04-08T00:00:00Z")
    assert QUARTERLY.period_label(info.data_interval.start) == "2025-Q1"


def test_catch_up_sequence_from_start_date():
    restriction = TimeRestriction(earliest=local(2024, 10, 1), latest=None, catchup=True)
    runs, last = [], None
    for _ in range(5):
        info = QUARTERLY.next_dagrun_info(last_automated_data_interval=last, restriction=restriction)
        runs.append((QUARTERLY.period_label(info.data_interval.start), info.run_after.in_timezone(JKT).date()))
        last = info.data_interval
    assert runs == [
        ("2024-Q4", dt.date(2025, 1, 2)),
        ("2025-Q1", dt.date(2025, 4, 8)),
        ("2025-Q2", dt.date(2025, 7, 1)),
        ("2025-Q3", dt.date(2025, 10, 1)),
        ("2025-Q4", dt.date(2026, 1, 2)),
    ]


def test_monthly_catch_up_sequence():
    restriction = TimeRestriction(earliest=local(2025, 1, 1), latest=local(2025, 6, 30), catchup=True)
    runs, last = [], None
    while info := MONTHLY.next_dagrun_info(last_automated_data_interval=last, restriction=restriction):
        runs.append((MONTHLY.period_label(info.data_interval.start), str(info.run_after.in_timezone(JKT).date())))
        last = info.data_interval
    assert runs == [
        ("2025-01", "2025-02-03"),  # 1-2 February weekend
        ("2025-02", "2025-03-03"),  # 1-2 March weekend
        ("2025-03", "2025-04-08"),  # Idul Fitri and cuti bersama
        ("2025-04", "2025-05-02"),
        ("2025-05", "2025-06-02"),
        ("2025-06", "2025-07-01"),
    ]


def test_start_date_inside_a_period_starts_with_the_next_period():
    restriction = TimeRestriction(earliest=local(2025, 2, 15), latest=None, catchup=True)
    info = QUARTERLY.next_dagrun_info(last_automated_data_interval=None, restriction=restriction)
    assert QUARTERLY.period_label(info.data_interval.start) == "2025-Q2"


def test_bounds_are_read_as_local_dates():
    """UTC midnight of 1 January (07:00 in Jakarta) still selects Q1; to-date 31 March ends it."""
    restriction = TimeRestriction(earliest=utc("2025-01-01T00:00:00Z"), latest=utc("2025-03-31T00:00:00Z"), catchup=True)
    first = QUARTERLY.next_dagrun_info(last_automated_data_interval=None, restriction=restriction)
    assert QUARTERLY.period_label(first.data_interval.start) == "2025-Q1"
    assert QUARTERLY.next_dagrun_info(last_automated_data_interval=first.data_interval, restriction=restriction) is None


def test_no_start_date_no_run():
    assert QUARTERLY.next_dagrun_info(last_automated_data_interval=None, restriction=CATCHUP) is None


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        ("2025-04-03T05:00:00Z", "2025-Q1"),  # Q1 ended, its run (8 April) is still ahead
        ("2025-05-20T05:00:00Z", "2025-Q1"),  # Q2 has not ended
        ("2025-07-01T03:00:00Z", "2025-Q2"),
    ],
)
def test_without_catchup_skips_to_the_latest_ended_period(monkeypatch, now, expected):
    monkeypatch.setattr(tt, "_utcnow", lambda: utc(now))
    restriction = TimeRestriction(earliest=local(2024, 1, 1), latest=None, catchup=False)
    info = QUARTERLY.next_dagrun_info(last_automated_data_interval=None, restriction=restriction)
    assert QUARTERLY.period_label(info.data_interval.start) == expected
    # and after an old run, too
    info = QUARTERLY.next_dagrun_info(last_automated_data_interval=interval(2024, 1, 2024, 4), restriction=restriction)
    assert QUARTERLY.period_label(info.data_interval.start) == expected


def test_without_catchup_a_future_start_date_wins(monkeypatch):
    monkeypatch.setattr(tt, "_utcnow", lambda: utc("2025-05-20T05:00:00Z"))
    restriction = TimeRestriction(earliest=local(2025, 10, 1), latest=None, catchup=False)
    info = QUARTERLY.next_dagrun_info(last_automated_data_interval=None, restriction=restriction)
    assert QUARTERLY.period_label(info.data_interval.start) == "2025-Q4"


def test_a_changed_mode_moves_past_existing_runs():
    """Switching a DAG from monthly to quarterly after the March 2025 run: next is Q2, not Q1."""
    info = after(QUARTERLY, interval(2025, 3, 2025, 4))
    assert QUARTERLY.period_label(info.data_interval.start) == "2025-Q2"
    info = after(QUARTERLY, interval(2025, 2, 2025, 3))  # end not on a quarter boundary
    assert QUARTERLY.period_label(info.data_interval.start) == "2025-Q2"


@pytest.mark.parametrize(
    ("run_after", "expected"),
    [
        ("2025-04-08T00:00:00Z", interval(2025, 1, 2025, 4)),
        ("2025-03-31T17:00:00Z", interval(2025, 1, 2025, 4)),  # local midnight 1 April
        ("2025-03-31T16:59:59Z", interval(2024, 10, 2025, 1)),  # still 31 March in Jakarta
        ("2025-06-30T20:00:00Z", interval(2025, 4, 2025, 7)),
    ],
)
def test_manual_run_covers_the_last_complete_period(run_after, expected):
    assert QUARTERLY.infer_manual_data_interval(run_after=utc(run_after)) == expected


def test_period_of_run():
    assert QUARTERLY.period_of_run(utc("2024-12-31T17:00:00Z"), utc("2025-04-08T00:00:00Z")) == "2025-Q1"
    assert MONTHLY.period_of_run(utc("2025-02-28T17:00:00Z"), utc("2025-04-08T00:00:00Z")) == "2025-03"
    # a manual run without a data interval: the last period complete when it was triggered
    assert QUARTERLY.period_of_run(None, utc("2025-05-20T05:00:00Z")) == "2025-Q1"
    assert MONTHLY.period_of_run(None, utc("2025-05-20T05:00:00Z")) == "2025-04"


def test_calendar_comes_from_the_config(tmp_path):
    config = tmp_path / "chatkpi.yaml"
    config.write_text('holidays:\n  extra_closed: ["2025-07-01"]\n', encoding="utf-8")
    timetable = AuditCalendarTimetable(mode="quarterly", hour=9, config_path=str(config))
    info = after(timetable, interval(2025, 1, 2025, 4))
    assert info.run_after == local(2025, 7, 2, 9)


def test_config_path_defaults_to_chatkpi_config(tmp_path, monkeypatch):
    config = tmp_path / "chatkpi.yaml"
    config.write_text("business_hours:\n  sat: [['08:00', '12:00']]\n", encoding="utf-8")
    monkeypatch.setenv("CHATKPI_CONFIG", str(config))
    # Saturday 5 April 2025 is not a holiday: with Saturday hours the Q1 run moves to it
    assert after(QUARTERLY, interval(2024, 10, 2025, 1)).run_after == local(2025, 4, 5, 7)


def test_serialisation_round_trip():
    timetable = AuditCalendarTimetable(mode="quarterly", hour=6, config_path="/etc/chatkpi.yaml")
    data = timetable.serialize()
    assert data == {"mode": "quarterly", "hour": 6, "config_path": "/etc/chatkpi.yaml"}
    assert AuditCalendarTimetable.deserialize(data) == timetable


def test_airflow_serialises_it_through_the_plugin():
    from airflow.serialization.decoders import decode_timetable
    from airflow.serialization.encoders import encode_timetable

    encoded = encode_timetable(QUARTERLY)
    assert encoded["__type"] == "chatkpi_plugins.timetable.AuditCalendarTimetable"
    decoded = decode_timetable(encoded)
    assert type(decoded) is AuditCalendarTimetable and decoded == QUARTERLY
    assert decoded.type_name == "chatkpi_plugins.timetable.AuditCalendarTimetable"


def test_validate():
    QUARTERLY.validate()
    with pytest.raises(AirflowTimetableInvalid, match="mode"):
        AuditCalendarTimetable(mode="weekly").validate()
    with pytest.raises(AirflowTimetableInvalid, match="hour"):
        AuditCalendarTimetable(mode="monthly", hour=24).validate()


def test_backfill_range_of_the_dag_selects_exactly_the_quarter():
    """What `airflow backfill create --from-date 2025-01-01 --to-date 2025-03-31` iterates: the
    serialised DAG's runs between the two (UTC-parsed) dates."""
    from airflow._shared.timezones.timezone import parse
    from airflow.dag_processing.dagbag import DagBag
    from airflow.serialization.serialized_objects import DagSerialization

    from tests.airflow.conftest import DAGS

    dag = DagBag(dag_folder=str(DAGS / "chatkpi_quarterly.py")).dags["chatkpi_quarterly"]
    scheduler_dag = DagSerialization.deserialize_dag(DagSerialization.serialize_dag(dag))
    for tz in ("UTC", JKT):
        infos = list(scheduler_dag.iter_dagrun_infos_between(parse("2025-01-01", tz), parse("2025-03-31", tz)))
        assert [i.data_interval for i in infos] == [interval(2025, 1, 2025, 4)], tz
        assert infos[0].logical_date == utc("2024-12-31T17:00:00Z")
    infos = list(scheduler_dag.iter_dagrun_infos_between(parse("2024-10-01", JKT), parse("2025-12-31", JKT)))
    assert [scheduler_dag.timetable.period_label(i.data_interval.start) for i in infos] == [
        "2024-Q4", "2025-Q1", "2025-Q2", "2025-Q3", "2025-Q4",
    ]


def test_the_calendar_travels_with_the_serialised_dag(tmp_path, monkeypatch):
    """`airflow dags next-execution` computes later runs from the serialised DAG in its own
    process: with the path captured at parse time it uses the dag-processor's calendar, not
    whatever $CHATKPI_CONFIG the CLI has (issue 16, point 7)."""
    from airflow.serialization.decoders import decode_timetable
    from airflow.serialization.encoders import encode_timetable

    saturdays = tmp_path / "saturdays.yaml"
    saturdays.write_text("business_hours:\n  sat: [['08:00', '12:00']]\n", encoding="utf-8")
    monkeypatch.setenv("CHATKPI_CONFIG", str(saturdays))
    parsed = AuditCalendarTimetable(mode="quarterly", hour=7)  # as the dag-processor builds it
    encoded = encode_timetable(parsed)

    other = tmp_path / "weekdays.yaml"
    other.write_text("timezone: Asia/Jakarta\n", encoding="utf-8")
    monkeypatch.setenv("CHATKPI_CONFIG", str(other))  # the CLI's own environment
    restored = decode_timetable(encoded)
    assert restored.config_path == str(saturdays)
    # Saturday 5 April 2025 is a working day in the dag-processor's calendar only
    assert after(restored, interval(2024, 10, 2025, 1)).run_after == local(2025, 4, 5, 7)
    assert after(AuditCalendarTimetable(mode="quarterly", hour=7), interval(2024, 10, 2025, 1)).run_after == local(2025, 4, 8, 7)


@pytest.mark.parametrize(
    ("run_type", "logical", "interval_start", "conf", "expected"),
    [
        ("manual", "2025-04-08T00:00:00Z", "2026-06-30T17:00:00Z", {}, "2025-Q1"),  # CLI: interval from trigger time
        ("manual", "2025-05-20T05:00:00Z", None, {}, "2025-Q1"),
        ("manual", None, None, {}, "2026-Q3"),  # no logical date: before the trigger time (run_after)
        ("scheduled", "2024-12-31T17:00:00Z", "2024-12-31T17:00:00Z", {}, "2025-Q1"),
        ("backfill", "2025-03-31T17:00:00Z", "2025-03-31T17:00:00Z", {}, "2025-Q2"),
        ("manual", "2025-04-08T00:00:00Z", None, {"period": "2024-Q4"}, "2024-Q4"),
    ],
)
def test_period_of_dag_run(run_type, logical, interval_start, conf, expected):
    from types import SimpleNamespace

    run = SimpleNamespace(run_type=run_type, logical_date=utc(logical) if logical else None, conf=conf,
                          data_interval_start=utc(interval_start) if interval_start else None, run_after=utc("2026-11-02T00:00:00Z"))
    assert QUARTERLY.period_of_dag_run(run) == expected


def test_period_of_dag_run_rejects_a_conf_period_of_the_other_kind():
    from types import SimpleNamespace

    run = SimpleNamespace(run_type="manual", logical_date=None, run_after=utc("2026-11-02T00:00:00Z"), conf={"period": "2025-03"},
                          data_interval_start=None)
    with pytest.raises(ValueError, match="not a quarter"):
        QUARTERLY.period_of_dag_run(run)
