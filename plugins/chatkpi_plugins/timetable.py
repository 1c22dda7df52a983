"""The audit calendar of SPEC 11 as an Airflow timetable.

A run fires on the first working day of the month (``mode="monthly"``) or of months 1, 4, 7 and
10 (``mode="quarterly"``) at ``hour``:00 local time, for the previous calendar month or quarter.
Working days come from the chatkpi business calendar (weekends, Indonesian public holidays and
*cuti bersama*, extra closed / open dates, closed periods): Q1 2025 runs on Tuesday 8 April 2025
because 1 April is Idul Fitri and 2-7 April are *cuti bersama*.

Conventions (the same as Airflow's own data-interval timetables):

- The data interval is the period assessed, from local midnight to local midnight: Q1 2025 of
  Asia/Jakarta is 2024-12-31T17:00Z .. 2025-03-31T17:00Z.
- The logical date of a scheduled or backfilled run is the interval start, so
  ``airflow backfill create --from-date 2025-01-01 --to-date 2025-03-31`` covers Q1.
- Restriction bounds (``start_date``, ``end_date``, backfill ``--from-date`` / ``--to-date``)
  are read as dates in the account's time zone: a bound given as UTC midnight 2025-01-01 still
  means 1 January, so the backfill above works whatever ``[core] default_timezone`` is.
- A manual run (no scheduled interval) covers the last period complete before its logical
  date or trigger time, like ``CronDataIntervalTimetable``.

The calendar is read lazily from the chatkpi config (``config_path``, else ``$CHATKPI_CONFIG``,
else the built-in defaults), so parsing a DAG file reads no file; the scheduler and the
dag-processor need the same ``CHATKPI_CONFIG`` as the workers.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
from typing import TYPE_CHECKING, Any

import pendulum
from airflow.exceptions import AirflowTimetableInvalid
from airflow.timetables.base import DagRunInfo, DataInterval, Timetable

if TYPE_CHECKING:
    from airflow.timetables.base import TimeRestriction

    from kpi_transforms.core.calendar import BusinessCalendar

MODES = {"monthly": 1, "quarterly": 3}


def _utcnow() -> pendulum.DateTime:
    """Now, in UTC (a function so tests can pin the clock)."""
    return pendulum.now("UTC")


@functools.lru_cache(maxsize=8)
def _calendar_for(path: str | None, mtime: float | None) -> BusinessCalendar:
    from kpi_transforms.core.calendar import BusinessCalendar
    from kpi_transforms.core.config import load_config

    return BusinessCalendar.from_config(load_config(path))


def business_calendar(config_path: str | None = None) -> BusinessCalendar:
    """The business calendar of the chatkpi config (cached until the file changes)."""
    path = config_path or os.environ.get("CHATKPI_CONFIG") or None
    mtime = os.path.getmtime(path) if path and os.path.isfile(path) else None
    return _calendar_for(path, mtime)


class AuditCalendarTimetable(Timetable):
    """First working day of each month / quarter at ``hour``:00 local, for the previous period."""

    periodic = True

    def __init__(self, mode: str = "monthly", hour: int = 7, config_path: str | os.PathLike[str] | None = None):
        self.mode = mode
        self.hour = hour
        # The config named when the DAG file was parsed travels with the serialised timetable,
        # so the scheduler, the API server and the CLI (``airflow dags next-execution``) read
        # the same calendar as the dag-processor, whatever their own $CHATKPI_CONFIG says.
        self.config_path = str(config_path) if config_path else (os.environ.get("CHATKPI_CONFIG") or None)
        self.description = (
            f"First working day of each {'month' if mode == 'monthly' else 'quarter'}, "
            f"{hour:02d}:00 local, for the previous {'month' if mode == 'monthly' else 'quarter'}"
        )

    # -- identity and (de)serialisation ---------------------------------------------------

    def serialize(self) -> dict[str, Any]:
        return {"mode": self.mode, "hour": self.hour, "config_path": self.config_path}

    @classmethod
    def deserialize(cls, data: dict[str, Any]) -> AuditCalendarTimetable:
        return cls(mode=data["mode"], hour=int(data["hour"]), config_path=data.get("config_path"))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AuditCalendarTimetable):
            return NotImplemented
        return self.serialize() == other.serialize()

    def __hash__(self) -> int:
        return hash((self.mode, self.hour, self.config_path))

    def __repr__(self) -> str:
        return f"AuditCalendarTimetable(mode={self.mode!r}, hour={self.hour!r}, config_path={self.config_path!r})"

    @property
    def summary(self) -> str:
        return f"audit calendar: {self.mode}, first working day {self.hour:02d}:00"

    def validate(self) -> None:
        if self.mode not in MODES:
            raise AirflowTimetableInvalid(f"mode must be one of {sorted(MODES)}, not {self.mode!r}")
        if not isinstance(self.hour, int) or not 0 <= self.hour <= 23:
            raise AirflowTimetableInvalid(f"hour must be an int 0..23, not {self.hour!r}")

    # -- calendar arithmetic (local dates) ------------------------------------------------

    @property
    def calendar(self) -> BusinessCalendar:
        return business_calendar(self.config_path)

    @property
    def timezone(self) -> str:
        return self.calendar.timezone

    @property
    def _months(self) -> int:
        return MODES[self.mode]

    def period_start(self, day: dt.date) -> dt.date:
        """First day of the month / quarter containing ``day``."""
        return dt.date(day.year, (day.month - 1) // self._months * self._months + 1, 1)

    def _shift(self, start: dt.date, periods: int) -> dt.date:
        index = start.year * 12 + start.month - 1 + periods * self._months
        return dt.date(index // 12, index % 12 + 1, 1)

    def _first_start_on_or_after(self, day: dt.date) -> dt.date:
        start = self.period_start(day)
        return start if start == day else self._shift(start, 1)

    def _local_date(self, instant: dt.datetime) -> dt.date:
        return pendulum.instance(instant).in_timezone(self.timezone).date()

    def _utc(self, day: dt.date, hour: int = 0) -> pendulum.DateTime:
        return pendulum.datetime(day.year, day.month, day.day, hour, tz=self.timezone).in_timezone("UTC")

    def run_date(self, start: dt.date) -> dt.date:
        """The local date the run for the period starting at ``start`` fires."""
        return self.calendar.first_working_day_on_or_after(self._shift(start, 1))

    def dagrun_info_for(self, start: dt.date) -> DagRunInfo:
        """The run of the period starting at local date ``start``."""
        interval = DataInterval(self._utc(start), self._utc(self._shift(start, 1)))
        return DagRunInfo(run_after=self._utc(self.run_date(start), self.hour), data_interval=interval)

    def period_label(self, interval_start: dt.datetime) -> str:
        """``2025-03`` or ``2025-Q1``: the period whose data interval starts at ``interval_start``."""
        start = self.period_start(self._local_date(interval_start))
        if self.mode == "monthly":
            return f"{start:%Y-%m}"
        return f"{start.year}-Q{(start.month - 1) // 3 + 1}"

    def period_of_run(self, data_interval_start: dt.datetime | None, run_after: dt.datetime) -> str:
        """The period a run assesses; a run without a data interval (a manual trigger without a
        logical date) assesses the last period complete before it was triggered."""
        if data_interval_start is None:
            data_interval_start = self.infer_manual_data_interval(run_after=pendulum.instance(run_after)).start
        return self.period_label(data_interval_start)

    def period_of_dag_run(self, dag_run: Any) -> str:
        """The period a DAG run assesses, the one rule every task and callback uses:

        - ``conf={"period": "2025-Q1"}`` when given (must be a period of this timetable's kind);
        - a manual run: the last period complete before its logical date (``airflow dags trigger
          --logical-date 2025-04-08`` and ``airflow dags test ... 2025-04-08`` both assess
          2025-Q1), or before it was triggered when it has none. The data interval Airflow
          stores for a manual run is not used: the CLI derives it from the trigger time;
        - a scheduled, backfill or cleared run: its data interval (logical date = interval start).
        """
        conf = getattr(dag_run, "conf", None) or {}
        if conf.get("period"):
            from kpi_transforms.core.periods import parse_period

            period = parse_period(str(conf["period"]))
            if period.period_type != ("month" if self.mode == "monthly" else "quarter"):
                raise ValueError(f"conf period {conf['period']!r} is not a {self.mode[:-2]}: this DAG assesses {self.mode} periods")
            return period.label
        run_type = getattr(dag_run, "run_type", None)
        run_type = str(getattr(run_type, "value", run_type) or "")
        start = getattr(dag_run, "data_interval_start", None)
        if run_type == "manual" or start is None:
            when = getattr(dag_run, "logical_date", None) or getattr(dag_run, "run_after", None) or _utcnow()
            start = self.infer_manual_data_interval(run_after=pendulum.instance(when)).start
        return self.period_label(start)

    # -- the Timetable protocol -----------------------------------------------------------

    def infer_manual_data_interval(self, *, run_after: pendulum.DateTime) -> DataInterval:
        end = self.period_start(self._local_date(run_after))
        return DataInterval(self._utc(self._shift(end, -1)), self._utc(end))

    def next_dagrun_info(
        self,
        *,
        last_automated_data_interval: DataInterval | None,
        restriction: TimeRestriction,
    ) -> DagRunInfo | None:
        earliest = None
        if restriction.earliest is not None:
            earliest = self._first_start_on_or_after(self._local_date(restriction.earliest))
        if not restriction.catchup:
            # Like Airflow's data-interval timetables: skip to the latest period that has ended.
            latest_ended = self._shift(self.period_start(self._local_date(_utcnow())), -1)
            earliest = latest_ended if earliest is None else max(earliest, latest_ended)
        if last_automated_data_interval is None:
            if earliest is None:
                return None
            start = earliest
        else:
            start = self._first_start_on_or_after(self._local_date(last_automated_data_interval.end))
            previous = self.period_start(self._local_date(last_automated_data_interval.start))
            if start <= previous:  # the mode changed under existing runs: move past them
                start = self._shift(previous, 1)
            if earliest is not None:
                start = max(start, earliest)
        if restriction.latest is not None and start > self._local_date(restriction.latest):
            return None
        return self.dagrun_info_for(start)
