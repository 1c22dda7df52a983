"""Failure callbacks for the chatkpi DAGs.

``on_failure_callback`` logs one line naming the DAG, the period (the data interval in local
dates), the task and the reason. When the Airflow connection ``chatkpi_alerts`` exists it also
POSTs that line as JSON to the connection's URL (a Slack / Teams / Google Chat incoming webhook,
or any endpoint accepting ``{"text": ...}``). No connection: the log line only.

Connection forms accepted (type ``http`` or ``https``):

- ``AIRFLOW_CONN_CHATKPI_ALERTS='https://hooks.example.com/services/T0/B0/xyz'`` (URI form: the
  path ends up in the connection's ``schema`` field and is put back),
- ``airflow connections add chatkpi_alerts --conn-type http --conn-host https://hooks.example.com/services/T0/B0/xyz``,
- any type with ``{"url": "https://..."}`` in its extra.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import urllib.request
from typing import Any

log = logging.getLogger("chatkpi.alerts")

ALERT_CONNECTION = "chatkpi_alerts"
DEFAULT_TIMEZONE = "Asia/Jakarta"


def local_period(start: dt.datetime | None, end: dt.datetime | None, timezone: str) -> str:
    """A data interval ``[start, end)`` as local dates: ``2025-01-01..2025-03-31`` (end inclusive),
    one date for a one-day interval, ``-`` for none."""
    if start is None or end is None:
        return "-"
    import pendulum

    first = pendulum.instance(start).in_timezone(timezone)
    last_instant = pendulum.instance(end).in_timezone(timezone)
    last = last_instant.date() if last_instant.time() != dt.time(0) else last_instant.date() - dt.timedelta(days=1)
    if last <= first.date():
        return first.date().isoformat()
    return f"{first.date().isoformat()}..{last.isoformat()}"


def failure_message(
    *,
    dag_id: str,
    task_id: str,
    period: str,
    reason: BaseException | str | None,
    map_index: int = -1,
    try_number: int | None = None,
    run_id: str | None = None,
) -> str:
    """The one-line alert: ``chatkpi FAILED dag=... period=... task=... reason=...``."""
    task = task_id if map_index is None or map_index < 0 else f"{task_id}[{map_index}]"
    if isinstance(reason, BaseException):
        text = str(reason).strip().splitlines()[0] if str(reason).strip() else ""
        reason_text = f"{type(reason).__name__}: {text}" if text else type(reason).__name__
    else:
        reason_text = str(reason or "unknown (no exception in the context)")
    parts = [f"chatkpi FAILED dag={dag_id}", f"period={period}", f"task={task}"]
    if try_number is not None:
        parts.append(f"try={try_number}")
    if run_id:
        parts.append(f"run={run_id}")
    parts.append(f"reason={reason_text}")
    return " ".join(parts)


def _timezone_of(dag: Any) -> str:
    """The DAG's local time zone: its timetable's, else its own, else Asia/Jakarta."""
    for candidate in (getattr(getattr(dag, "timetable", None), "timezone", None), getattr(dag, "timezone", None)):
        name = candidate if isinstance(candidate, str) else getattr(candidate, "name", None)
        if name and name.upper() != "UTC":
            return name
    return DEFAULT_TIMEZONE


def period_of_context(context: Any, timezone: str) -> str:
    """The local dates a run covers. An audit-calendar run: the period its tasks compute (the
    timetable's ``period_of_dag_run``: a manual run's period comes from its logical date). A run
    without a data interval (a manual daily run): the interval its timetable infers for the
    logical date or trigger time, else that local date."""
    start, end = context.get("data_interval_start"), context.get("data_interval_end")
    dag_run = context.get("dag_run")
    timetable = getattr(context.get("dag"), "timetable", None)
    try:
        if dag_run is not None and hasattr(timetable, "period_of_dag_run"):
            from kpi_transforms.core.periods import parse_period

            period = parse_period(timetable.period_of_dag_run(dag_run))
            return f"{period.start.isoformat()}..{(period.end - dt.timedelta(days=1)).isoformat()}"
        if (start is None or end is None) and dag_run is not None:
            import pendulum

            when = getattr(dag_run, "logical_date", None) or getattr(dag_run, "run_after", None)
            if when is None:
                return "-"
            try:
                from airflow.serialization.encoders import coerce_to_core_timetable

                interval = coerce_to_core_timetable(timetable).infer_manual_data_interval(run_after=pendulum.instance(when))
                start, end = interval.start, interval.end
            except Exception:  # noqa: BLE001 - no timetable to ask: the day of the run
                return pendulum.instance(when).in_timezone(timezone).date().isoformat()
    except Exception:  # noqa: BLE001 - an alert must never fail on its period
        pass
    return local_period(start, end, timezone)


def _context_fields(context: Any) -> dict[str, Any]:
    ti = context.get("ti") or context.get("task_instance")
    dag = context.get("dag")
    try:
        timezone = _timezone_of(dag)
    except Exception:  # noqa: BLE001 - the config may be what failed
        timezone = DEFAULT_TIMEZONE
    return {
        "dag_id": getattr(dag, "dag_id", None) or getattr(ti, "dag_id", "?"),
        "task_id": getattr(ti, "task_id", None) or getattr(context.get("task"), "task_id", "?"),
        "map_index": getattr(ti, "map_index", -1),
        "try_number": getattr(ti, "try_number", None),
        "run_id": context.get("run_id"),
        "period": period_of_context(context, timezone),
    }


def message_from_context(context: Any) -> str:
    """The alert line for a task-failure callback context."""
    return failure_message(**_context_fields(context), reason=context.get("exception"))


def warning_message(context: Any, text: str) -> str:
    """``chatkpi WARNING dag=... period=... task=... run=... <text>``: something an operator must
    see although the run goes on (rejected files)."""
    fields = _context_fields(context)
    task = fields["task_id"] if fields["map_index"] is None or fields["map_index"] < 0 else f"{fields['task_id']}[{fields['map_index']}]"
    parts = [f"chatkpi WARNING dag={fields['dag_id']}", f"period={fields['period']}", f"task={task}"]
    if fields["run_id"]:
        parts.append(f"run={fields['run_id']}")
    return " ".join(parts + [text])


def webhook_url(conn: Any) -> str | None:
    """The URL to POST to, from an Airflow connection (see the module docstring)."""
    extra = getattr(conn, "extra_dejson", None) or {}
    if extra.get("url"):
        return str(extra["url"])
    host = (getattr(conn, "host", None) or "").strip()
    if not host:
        return None
    if "://" in host:
        return host
    scheme = (getattr(conn, "conn_type", None) or "https").lower()
    scheme = scheme if scheme in ("http", "https") else "https"
    port = f":{conn.port}" if getattr(conn, "port", None) else ""
    path = (getattr(conn, "schema", None) or "").strip("/")
    return f"{scheme}://{host}{port}/{path}"


def post_webhook(url: str, payload: dict[str, Any], timeout: float = 10.0) -> int:
    """POST ``payload`` as JSON; return the HTTP status (raises on a network error or >= 400)."""
    request = urllib.request.Request(
        url,
        data=json.dumps(payload).encode("utf-8"),
        headers={"Content-Type": "application/json", "User-Agent": "chatkpi-alerts"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - URL from an admin connection
        return int(response.status)


def _alert_connection() -> Any | None:
    """The ``chatkpi_alerts`` connection, or None when it is not defined (or cannot be read)."""
    try:
        from airflow.sdk import Connection

        return Connection.get(ALERT_CONNECTION)
    except Exception:  # noqa: BLE001 - absence is the normal case
        return None


def on_failure_callback(context: Any) -> None:
    """Task failure callback: one clear log line, plus the webhook when configured."""
    message = message_from_context(context)
    log.error(message)
    _post(context, message)


def warn(context: Any, text: str) -> str:
    """A warning alert from inside a task: one WARNING log line (in the task log), plus the
    webhook of ``chatkpi_alerts`` when configured. Returns the line."""
    message = warning_message(context, text)
    log.warning(message)
    _post(context, message)
    return message


def _post(context: Any, message: str) -> None:
    conn = _alert_connection()
    url = webhook_url(conn) if conn is not None else None
    if not url:
        return
    payload = {"text": message, "dag_id": getattr(context.get("dag"), "dag_id", None), "run_id": context.get("run_id")}
    try:
        status = post_webhook(url, payload)
        log.info("chatkpi alert posted to connection %s (HTTP %s)", ALERT_CONNECTION, status)
    except Exception as exc:  # noqa: BLE001 - an alert that cannot be sent must not hide the failure
        log.warning("chatkpi alert could not be posted to connection %s: %s", ALERT_CONNECTION, exc)
