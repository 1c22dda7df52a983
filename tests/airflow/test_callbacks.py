"""Failure callbacks: the one-line message, and the webhook POST through `chatkpi_alerts`
(against a tiny HTTP server on 127.0.0.1 that stops itself)."""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import pendulum
import pytest
from airflow.sdk import Connection
from chatkpi_plugins import callbacks
from chatkpi_plugins.callbacks import (
    failure_message,
    local_period,
    message_from_context,
    on_failure_callback,
    webhook_url,
)
from chatkpi_plugins.timetable import AuditCalendarTimetable


def utc(text: str) -> pendulum.DateTime:
    return pendulum.parse(text)


def quarterly_context(exception: BaseException | None) -> dict:
    dag = SimpleNamespace(dag_id="chatkpi_quarterly", timetable=AuditCalendarTimetable(mode="quarterly"))
    ti = SimpleNamespace(dag_id="chatkpi_quarterly", task_id="compute_kpis", map_index=-1, try_number=3)
    return {
        "dag": dag,
        "ti": ti,
        "run_id": "scheduled__2025-04-08T00:00:00+00:00",
        "data_interval_start": utc("2024-12-31T17:00:00Z"),
        "data_interval_end": utc("2025-03-31T17:00:00Z"),
        "exception": exception,
    }


EXPECTED = (
    "chatkpi FAILED dag=chatkpi_quarterly period=2025-01-01..2025-03-31 task=compute_kpis try=3"
    " run=scheduled__2025-04-08T00:00:00+00:00 reason=WarehouseError: cannot open warehouse duckdb:///w.duckdb: locked"
)


class WarehouseError(Exception):
    pass


def test_local_period():
    assert local_period(utc("2024-12-31T17:00:00Z"), utc("2025-03-31T17:00:00Z"), "Asia/Jakarta") == "2025-01-01..2025-03-31"
    assert local_period(utc("2025-02-28T17:00:00Z"), utc("2025-03-31T17:00:00Z"), "Asia/Jakarta") == "2025-03-01..2025-03-31"
    assert local_period(utc("2025-03-30T17:00:00Z"), utc("2025-03-31T17:00:00Z"), "Asia/Jakarta") == "2025-03-31"
    # the daily run: 01:00 to 01:00 local
    assert local_period(utc("2025-03-30T18:00:00Z"), utc("2025-03-31T18:00:00Z"), "Asia/Jakarta") == "2025-03-31..2025-04-01"
    assert local_period(None, None, "Asia/Jakarta") == "-"


def test_failure_message_names_dag_period_task_and_reason():
    message = failure_message(
        dag_id="chatkpi_daily", task_id="stage_file", map_index=4, period="2025-03-31..2025-04-01",
        reason=ValueError("bad zip\nsecond line of detail"),
    )
    assert message == "chatkpi FAILED dag=chatkpi_daily period=2025-03-31..2025-04-01 task=stage_file[4] reason=ValueError: bad zip"
    assert "reason=unknown" in failure_message(dag_id="d", task_id="t", period="-", reason=None)
    assert failure_message(dag_id="d", task_id="t", period="-", reason=KeyError()).endswith("reason=KeyError")


def test_message_from_context_uses_the_local_calendar():
    error = WarehouseError("cannot open warehouse duckdb:///w.duckdb: locked\nTraceback...")
    assert message_from_context(quarterly_context(error)) == EXPECTED


@pytest.mark.parametrize(
    ("conn", "url"),
    [
        (Connection.from_uri("http://127.0.0.1:8099/hooks/chatkpi", conn_id="chatkpi_alerts"), "http://127.0.0.1:8099/hooks/chatkpi"),
        (Connection.from_uri("https://hooks.example.com/services/T0/B0/xyz", conn_id="a"), "https://hooks.example.com/services/T0/B0/xyz"),
        (Connection(conn_id="a", conn_type="http", host="https://chat.example.com/v1/spaces/x/messages?key=k"), "https://chat.example.com/v1/spaces/x/messages?key=k"),
        (Connection(conn_id="a", conn_type="generic", extra=json.dumps({"url": "https://example.com/h"})), "https://example.com/h"),
        (Connection(conn_id="a", conn_type="http"), None),
    ],
)
def test_webhook_url(conn, url):
    assert webhook_url(conn) == url


@contextlib.contextmanager
def webhook_server(status: int = 200):
    """A one-shot HTTP server on 127.0.0.1: records POSTed bodies, stops itself on exit."""
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's naming
            length = int(self.headers.get("Content-Length", "0"))
            received.append({"path": self.path, "type": self.headers.get("Content-Type"),
                             "body": json.loads(self.rfile.read(length))})
            self.send_response(status)
            self.end_headers()

        def log_message(self, *args):  # keep test output quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.timeout = 5
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], received
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_callback_posts_to_the_alert_connection(monkeypatch, caplog):
    with webhook_server() as (port, received):
        monkeypatch.setenv("AIRFLOW_CONN_CHATKPI_ALERTS", f"http://127.0.0.1:{port}/hooks/chatkpi")
        with caplog.at_level(logging.INFO, logger="chatkpi.alerts"):
            on_failure_callback(quarterly_context(WarehouseError("cannot open warehouse duckdb:///w.duckdb: locked")))
    assert len(received) == 1
    assert received[0]["path"] == "/hooks/chatkpi"
    assert received[0]["type"] == "application/json"
    assert received[0]["body"]["text"] == EXPECTED
    assert received[0]["body"]["dag_id"] == "chatkpi_quarterly"
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR] == [EXPECTED]
    assert any("posted" in r.getMessage() for r in caplog.records)


def test_callback_without_connection_only_logs(monkeypatch, caplog):
    monkeypatch.delenv("AIRFLOW_CONN_CHATKPI_ALERTS", raising=False)
    monkeypatch.setattr(callbacks, "post_webhook", lambda *a, **k: pytest.fail("no connection: nothing to post"))
    with caplog.at_level(logging.INFO, logger="chatkpi.alerts"):
        on_failure_callback(quarterly_context(WarehouseError("cannot open warehouse duckdb:///w.duckdb: locked")))
    assert [r.getMessage() for r in caplog.records] == [EXPECTED]


def test_a_failing_webhook_does_not_raise(monkeypatch, caplog):
    with webhook_server(status=500) as (port, received):
        monkeypatch.setenv("AIRFLOW_CONN_CHATKPI_ALERTS", f"http://127.0.0.1:{port}/hook")
        with caplog.at_level(logging.INFO, logger="chatkpi.alerts"):
            on_failure_callback(quarterly_context(RuntimeError("boom")))
    assert len(received) == 1
    assert any(r.levelno == logging.WARNING and "could not be posted" in r.getMessage() for r in caplog.records)


# -- issue 16: the period of manual runs, warnings -------------------------------------------


def test_manual_quarterly_run_names_the_period_of_its_logical_date():
    """`airflow dags trigger --logical-date 2025-04-08T07:00+07:00` stores a data interval
    inferred from the trigger time (2026-Q3 here); the alert names what the tasks computed."""
    context = quarterly_context(RuntimeError("boom"))
    context.update(
        data_interval_start=utc("2026-06-30T17:00:00Z"), data_interval_end=utc("2026-09-30T17:00:00Z"),
        dag_run=SimpleNamespace(run_type="manual", logical_date=utc("2025-0408T00:00:00Z".replace("04", "04-", 1)),
                                run_after=utc("2026-11-02T00:00:00Z"), data_interval_start=utc("2026-06-30T17:00:00Z"), conf={}),
    )
    assert "period=2025-01-01..2025-03-31 " in message_from_context(context)
    context["dag_run"].conf = {"period": "2024-Q4"}
    assert "period=2024-10-01..2024-12-31 " in message_from_context(context)


def test_manual_daily_run_without_interval_has_a_period():
    """A manual daily run has no data interval: the line used to say `period=-`."""
    from airflow.dag_processing.dagbag import DagBag

    from tests.airflow.conftest import DAGS

    dag = DagBag(dag_folder=str(DAGS / "chatkpi_daily.py")).dags["chatkpi_daily"]
    context = {
        "dag": dag, "ti": SimpleNamespace(task_id="load_batch", map_index=-1, try_number=1),
        "run_id": "manual__2025-04-01T03:00:00+00:00", "data_interval_start": None, "data_interval_end": None,
        "dag_run": SimpleNamespace(run_type="manual", logical_date=None, run_after=utc("2025-04-01T03:00:00Z"), conf={}),
        "exception": RuntimeError("boom"),
    }
    assert message_from_context(context).startswith(
        "chatkpi FAILED dag=chatkpi_daily period=2025-03-31..2025-04-01 task=load_batch try=1")


def test_warning_posts_the_rejected_files(monkeypatch, caplog):
    context = quarterly_context(None)
    context["dag"] = SimpleNamespace(dag_id="chatkpi_daily", timetable=None)
    context["ti"] = SimpleNamespace(task_id="load_batch", map_index=-1, try_number=1)
    context["data_interval_start"], context["data_interval_end"] = utc("2025-03-30T18:00:00Z"), utc("2025-03-31T18:00:00Z")
    with webhook_server() as (port, received):
        monkeypatch.setenv("AIRFLOW_CONN_CHATKPI_ALERTS", f"http://127.0.0.1:{port}/hook")
        with caplog.at_level(logging.INFO, logger="chatkpi.alerts"):
            line = callbacks.warn(context, "rejected 1 file(s): broken.txt (binary data)")
    assert line == ("chatkpi WARNING dag=chatkpi_daily period=2025-03-31..2025-04-01 task=load_batch"
                    " run=scheduled__2025-04-08T00:00:00+00:00 rejected 1 file(s): broken.txt (binary data)")
    assert [r["body"]["text"] for r in received] == [line]
    assert any(r.levelno == logging.WARNING and r.getMessage() == line for r in caplog.records)
