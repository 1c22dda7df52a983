"""Breach alerts (issue 17 item 2): after the daily load, the queues past their 1-working-day
deadline (open now) go out by e-mail (SMTP) and / or to a webhook, with the list and a link.

The message is the breach list of :func:`kpi_transforms.pipeline.breaches.find_breaches` (masked
customers, the bi keys) rendered as text; the webhook gets ``{"text": ..., "breaches": [...]}``
(Slack / Teams / Google Chat incoming webhooks read ``text``). Nothing is sent when no queue is
open past its deadline.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import smtplib
import urllib.request
from email.message import EmailMessage

from kpi_transforms.core.config import Config
from kpi_transforms.core.errors import ChatKpiError
from kpi_transforms.pipeline.breaches import find_breaches
from kpi_transforms.present.breaches import render_breaches
from kpi_transforms.warehouse.engine import Warehouse


@dataclasses.dataclass
class BreachAlert:
    subject: str
    text: str
    breaches: list[dict]  # one dict per open queue (keys of bi.v_sla_breaches)

    @property
    def empty(self) -> bool:
        return not self.breaches


def breach_alert(warehouse: Warehouse, config: Config, *, now: dt.datetime | None = None, link: str | None = None,
                 lang: str = "id") -> BreachAlert:
    """The alert for the queues open past their deadline at ``now`` (default: the clock)."""
    found = find_breaches(warehouse, now=now)
    found.late = found.late.iloc[0:0]  # an alert is about what still waits; late answers are in the report
    rows = json.loads(render_breaches(found, "json", lang, config.timezone))["breaches"]
    text = render_breaches(found, "table", lang, config.timezone)
    if link:
        text += "\n\n" + ("Laporan: " if lang == "id" else "Report: ") + link
    subject = (f"[chatkpi] {len(rows)} antrean melewati batas 1 hari kerja" if lang == "id"
               else f"[chatkpi] {len(rows)} queue(s) past the 1-working-day deadline")
    return BreachAlert(subject=subject, text=text, breaches=rows)


def send_email(alert: BreachAlert, *, host: str, port: int, sender: str, recipients: list[str],
               username: str | None = None, password: str | None = None, starttls: bool = False, timeout: float = 30) -> None:
    """Send the alert as a plain-text e-mail through an SMTP server."""
    if not recipients:
        raise ChatKpiError("breach alert e-mail: no recipient configured")
    message = EmailMessage()
    message["Subject"], message["From"], message["To"] = alert.subject, sender, ", ".join(recipients)
    message.set_content(alert.text)
    try:
        with smtplib.SMTP(host, port, timeout=timeout) as smtp:
            if starttls:
                smtp.starttls()
            if username:
                smtp.login(username, password or "")
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise ChatKpiError(f"breach alert e-mail via {host}:{port} failed: {exc}") from exc


def send_webhook(alert: BreachAlert, url: str, *, timeout: float = 30) -> int:
    """POST ``{"text", "subject", "breaches"}`` as JSON; returns the HTTP status."""
    body = json.dumps({"text": alert.subject + "\n\n" + alert.text, "subject": alert.subject, "breaches": alert.breaches},
                      ensure_ascii=False).encode("utf-8")
    request = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": "application/json; charset=utf-8"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - an operator-configured URL
            return int(response.status)
    except OSError as exc:
        raise ChatKpiError(f"breach alert webhook {url} failed: {exc}") from exc
