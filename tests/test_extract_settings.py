"""The proposed ``extract:`` config section: the example in docs/OPERATIONS.md parses, and
credentials or unknown keys in it are errors."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from kpi_transforms.core.config import ConfigError
from kpi_transforms.extract.settings import parse_extract_settings

DOC = Path(__file__).resolve().parents[1] / "docs" / "OPERATIONS.md"


def doc_example() -> dict:
    text = DOC.read_text(encoding="utf-8")
    block = re.search(r"<!-- extract-config-example -->\n```yaml\n(.*?)```", text, re.S).group(1)
    return yaml.safe_load(block)["extract"]


def test_the_documented_example_parses():
    settings = parse_extract_settings(doc_example())
    (imap,) = settings.imap
    assert (imap.name, imap.host, imap.port, imap.security, imap.folders) == ("sales", "imap.batiksekar.co.id", 993, "ssl", ("INBOX", "Sent"))
    assert imap.readonly and not imap.mark_seen and imap.password_env == "CHATKPI_IMAP_SALES_PASSWORD"
    (s3,) = settings.s3
    assert (s3.bucket, s3.prefix, s3.location, s3.access_key_env) == ("chatkpi-exports", "exports/", "chatkpi-exports/exports/", "CHATKPI_S3_GUDANG_KEY")
    assert s3.suffixes == (".txt", ".zip", ".csv", ".xlsx", ".jsonl", ".json")
    assert settings.whatsapp_cloud.agent_by_phone_number == {"106540352242922": "dewi"}
    assert settings.whatsapp_cloud.default_agent_id == "dewi" and settings.whatsapp_cloud.outgoing_from_statuses
    assert settings.landing_dir == "landing/extract"


@pytest.mark.parametrize(
    "raw, message",
    [
        ({"imap": [{"name": "a", "host": "h", "password": "x"}]}, r"extract.imap\[0\].password: credentials do not belong"),
        ({"s3": [{"name": "a", "bucket": "b", "secret_key": "x"}]}, r"extract.s3\[0\].secret_key: credentials do not belong"),
        ({"imap": [{"name": "a", "host": "h", "folder": "INBOX"}]}, r"extract.imap\[0\].folder: unknown key"),
        ({"imap": [{"name": "a", "host": "h", "folders": "INBOX"}]}, r"folders: expected a non-empty list"),
        ({"imap": [{"name": "a", "host": "h", "security": "tls"}]}, r"security: 'tls' is not one of ssl, starttls, plain"),
        ({"imap": [{"name": "a", "host": "h", "mark_seen": True}]}, r"mark_seen needs readonly: false"),
        ({"imap": [{"name": "a", "host": "h"}, {"name": "a", "host": "g"}]}, r"source names must be unique"),
        ({"s3": [{"name": "a", "bucket": "b", "access_key_env": "K"}]}, r"give both access_key_env and secret_key_env"),
        ({"sftp": []}, r"extract.sftp: unknown key"),
    ],
)
def test_mistakes_are_errors(raw, message):
    with pytest.raises(ConfigError, match=message):
        parse_extract_settings(raw)
