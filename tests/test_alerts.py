"""Breach alerts (issue 17 item 2): the list of open queues by SMTP (a local aiosmtpd server)
and by webhook (a local HTTP server)."""

from __future__ import annotations

import datetime as dt
import email
import http.server
import json
import socket
import threading

import pytest
from aiosmtpd.controller import Controller

from kpi_transforms.pipeline.alerts import breach_alert, send_email, send_webhook
from kpi_transforms.warehouse.engine import Warehouse
from tests.test_bi_views import demo_config, demo_duckdb  # noqa: F401 - fixture

UTC = dt.timezone.utc


class _Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


@pytest.fixture
def smtp_server():
    inbox = _Inbox()
    with socket.socket() as probe:  # a free port (aiosmtpd's controller cannot take port 0)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield controller, inbox
    finally:
        controller.stop()


@pytest.fixture
def webhook_server():
    received = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's hook name
            received.append((self.path, self.headers.get("Content-Type"), self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hooks/chatkpi", received
    finally:
        server.shutdown()
        server.server_close()


def test_breach_alert_by_email_and_webhook(demo_duckdb, smtp_server, webhook_server):
    wh = Warehouse(demo_duckdb)
    # 25/02/2025 09.00 WIB: Dewi's refund question is past its deadline (Mon 24/02 10.10)
    alert = breach_alert(wh, demo_config(), now=dt.datetime(2025, 2, 25, 2, 0, tzinfo=UTC),
                         link="https://reports.example/chatkpi_2025-Q1.html#sla")
    assert alert.subject == "[chatkpi] 1 antrean melewati batas 1 hari kerja"
    assert [b["pair_id"] for b in alert.breaches] == ["40249f4852afeec4f60b16bbd57cc2db"]
    assert alert.breaches[0]["overdue_seconds"] == 82200 and alert.breaches[0]["agent_id"] == "rina"
    assert "Kak, acaranya batal, saya mau refund DP" in alert.text and "Jawaban terlambat" in alert.text
    assert alert.text.endswith("Laporan: https://reports.example/chatkpi_2025-Q1.html#sla")

    controller, inbox = smtp_server
    send_email(alert, host=controller.hostname, port=controller.port, sender="chatkpi@example.com",
               recipients=["kepala.marketing@example.com", "sales@example.com"])
    assert len(inbox.messages) == 1
    mail_from, rcpt, content = inbox.messages[0]
    assert mail_from == "chatkpi@example.com" and rcpt == ["kepala.marketing@example.com", "sales@example.com"]
    message = email.message_from_bytes(content)
    assert message["Subject"] == alert.subject
    body = message.get_payload(decode=True).decode("utf-8")
    assert "22/02/2025 10.10" in body and "22 jam 50 menit" in body and "wh_55815fec1f7abba9" in body

    url, received = webhook_server
    assert send_webhook(alert, url) == 200
    path, content_type, raw = received[0]
    assert path == "/hooks/chatkpi" and content_type.startswith("application/json")
    payload = json.loads(raw)
    assert payload["subject"] == alert.subject and payload["breaches"] == alert.breaches
    assert payload["text"].startswith(alert.subject) and "refund DP" in payload["text"]


def test_no_alert_when_nothing_waits_and_errors_are_one_line(demo_duckdb, smtp_server):
    wh = Warehouse(demo_duckdb)
    quiet = breach_alert(wh, demo_config(), now=dt.datetime(2025, 1, 6, 3, 0, tzinfo=UTC))  # Monday morning, 6 Jan
    assert quiet.empty and quiet.breaches == []
    from kpi_transforms.core.errors import ChatKpiError

    with pytest.raises(ChatKpiError, match=r"breach alert e-mail via 127\.0\.0\.1:1 failed"):
        send_email(quiet, host="127.0.0.1", port=1, sender="a@example.com", recipients=["b@example.com"], timeout=5)
    with pytest.raises(ChatKpiError, match="breach alert webhook http://127.0.0.1:1/x failed"):
        send_webhook(quiet, "http://127.0.0.1:1/x", timeout=5)
