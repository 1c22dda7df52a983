"""The daily DAG's alert_breaches task (issue 17 item 2): the open queues by e-mail through the
``chatkpi_smtp`` connection (a local aiosmtpd server) and by webhook (a local HTTP server)."""

from __future__ import annotations

import email
import json

from chatkpi_plugins.tasks import alert_breaches

from tests.test_alerts import smtp_server, webhook_server  # noqa: F401 - fixtures
from tests.test_bi_views import DEMO, demo_duckdb  # noqa: F401 - fixture


def test_alert_task_sends_mail_and_webhook(demo_duckdb, smtp_server, webhook_server, monkeypatch):
    controller, inbox = smtp_server
    url, received = webhook_server
    monkeypatch.setenv("CHATKPI_WAREHOUSE_URL", demo_duckdb)
    monkeypatch.setenv("CHATKPI_CONFIG", str(DEMO / "chatkpi.yaml"))
    monkeypatch.setenv("AIRFLOW_CONN_CHATKPI_SMTP", json.dumps({
        "conn_type": "smtp", "host": controller.hostname, "port": controller.port,
        "extra": {"from": "chatkpi@example.com", "to": ["kepala.marketing@example.com"]}}))
    monkeypatch.setenv("AIRFLOW_CONN_CHATKPI_BREACH_WEBHOOK", url)
    monkeypatch.setenv("AIRFLOW_VAR_CHATKPI_REPORT_URL", "https://reports.example/chatkpi.html#sla")
    result = alert_breaches.function()
    # today (the run's clock) both never-answered demo queues are past their deadline
    assert result == {"open": 2, "sent": ["email", "webhook"]}
    message = email.message_from_bytes(inbox.messages[0][2])
    assert message["Subject"] == "[chatkpi] 2 antrean melewati batas 1 hari kerja"
    body = message.get_payload(decode=True).decode("utf-8")
    assert "Kak, acaranya batal, saya mau refund DP" in body and "Mantap, terima kasih kak" in body
    assert body.rstrip().endswith("Laporan: https://reports.example/chatkpi.html#sla")
    payload = json.loads(received[0][2])
    assert [b["thread_id"] for b in payload["breaches"]] == ["wh_55815fec1f7abba9", "wh_6a841d2b02c9481d"]


def test_alert_task_without_connections_only_prints(demo_duckdb, monkeypatch, capsys):
    monkeypatch.setenv("CHATKPI_WAREHOUSE_URL", demo_duckdb)
    monkeypatch.setenv("CHATKPI_CONFIG", str(DEMO / "chatkpi.yaml"))
    for name in ("AIRFLOW_CONN_CHATKPI_SMTP", "AIRFLOW_CONN_CHATKPI_BREACH_WEBHOOK", "AIRFLOW_VAR_CHATKPI_REPORT_URL"):
        monkeypatch.delenv(name, raising=False)
    assert alert_breaches.function() == {"open": 2, "sent": []}
    assert "[chatkpi] 2 antrean melewati batas 1 hari kerja" in capsys.readouterr().out
