"""Issue 14 (items 2, 3, 6): conversation identity across files, batches and renamed
contacts, and the e-mail parsing defects, end to end through ``ingest_paths``."""

from __future__ import annotations

from pathlib import Path

import pytest

from kpi_transforms.core.config import ConfigError, parse_config
from kpi_transforms.pipeline.ingest import ingest_paths
from kpi_transforms.warehouse.engine import Warehouse

AGENTS = {"agents": [{"id": "lia", "names": ["Lia Sales"], "emails": ["lia@souvenir-nusantara.co.id"]}],
          "company_domains": ["souvenir-nusantara.co.id"]}


def _write(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def _eml(msg_id: str, sender: str, date: str, subject: str, body: str, *, reply_to: str | None = None,
         refs: str | None = None, to: str = "lia@souvenir-nusantara.co.id") -> str:
    head = [f"From: {sender}", f"To: {to}", f"Subject: {subject}", f"Date: {date}", f"Message-ID: <{msg_id}>"]
    if reply_to:
        head.append(f"In-Reply-To: <{reply_to}>")
    if refs:
        head.append(f"References: {refs}")
    return "\n".join(head) + "\n\n" + body + "\n"


# --- item 6: e-mail display names and the plausibility window per channel ---------------------
def test_email_display_names_are_stored_decoded(duckdb_url, tmp_path):
    mail = (
        "From: =?utf-8?q?Fran=C3=A7ois_Boulogne?= <francois@example.fr>\nTo: lia@souvenir-nusantara.co.id\n"
        "Subject: Devis\nDate: Wed, 5 Mar 2025 10:00:00 +0700\nMessage-ID: <f1@example.fr>\n\nBonjour, un devis ?\n"
    )
    landing = _write(tmp_path / "in", {"devis.eml": mail})
    wh = Warehouse(duckdb_url)
    ingest_paths([landing], parse_config(AGENTS), wh, lake_dir=tmp_path / "lake")
    assert wh.read_df("select sender_name from marts.fct_message")["sender_name"].tolist() == [
        "François Boulogne <francois@example.fr>"
    ]


def test_email_before_2009_is_plausible_whatsapp_is_not(duckdb_url, tmp_path):
    old_mail = _eml("old1@example.com", "Budi <budi@example.com>", "Mon, 3 Mar 2003 10:00:00 +0700", "Katalog 2003", "Minta katalog")
    ancient = _eml("old2@example.com", "Budi <budi@example.com>", "Mon, 1 Jan 1985 10:00:00 +0700", "Katalog 1985", "Minta katalog")
    landing = _write(tmp_path / "in", {
        "old.eml": old_mail, "ancient.eml": ancient,
        "Chat WhatsApp dengan Budi.txt": "01/01/2008 10:00 - Budi: halo\n01/01/2020 10:00 - Budi: ok\n",
    })
    wh = Warehouse(duckdb_url)
    report = ingest_paths([landing], parse_config(AGENTS), wh, lake_dir=tmp_path / "lake")
    status = {Path(f.source_file).name: (f.status, f.reason) for f in report.files}
    assert status["old.eml"][0] == "loaded"
    assert status["ancient.eml"][0] == "rejected" and "outside 1990-01-01" in status["ancient.eml"][1]
    assert status["Chat WhatsApp dengan Budi.txt"][0] == "loaded"
    stored = wh.read_df("select channel, sent_at_local from marts.fct_message order by sent_at_local")
    assert [(c, str(t)[:10]) for c, t in stored.values.tolist()] == [("email", "2003-03-03"), ("whatsapp", "2020-01-01")]
    reasons = wh.read_df("select reason from audit.rejected_row")["reason"].tolist()
    assert len(reasons) == 1 and "year 2008" in reasons[0]  # the WhatsApp parser's own 2009 bound


def test_plausible_from_is_configurable_per_channel(duckdb_url, tmp_path):
    config = parse_config({**AGENTS, "plausible_from": {"email": "2005-01-01"}})
    assert str(config.plausible_from["email"]) == "2005-01-01" and str(config.plausible_from["whatsapp"]) == "2009-01-01"
    landing = _write(tmp_path / "in", {
        "old.eml": _eml("old1@example.com", "Budi <budi@example.com>", "Mon, 3 Mar 2003 10:00:00 +0700", "Katalog", "Minta"),
    })
    wh = Warehouse(duckdb_url)
    report = ingest_paths([landing], config, wh, lake_dir=tmp_path / "lake")
    assert report.files[0].status == "rejected" and "outside 2005-01-01" in report.files[0].reason
    with pytest.raises(ConfigError, match="plausible_from.'sms'"):
        parse_config({"plausible_from": {"sms": "2000-01-01"}})
    with pytest.raises(ConfigError, match="plausible_from.email"):
        parse_config({"plausible_from": {"email": "kemarin"}})
