"""The daily DAG extracts before it loads (issue 20, phase B), through ``dag.test()`` in a child
process against moto's S3 server on loopback: one mapped ``extract_source`` per source, a source
that cannot be read fails its own task with a log line while the other source's files load, the
checkpoints commit with the batch, and the next day's run fetches and loads nothing."""

from __future__ import annotations

import json
import uuid

import pytest
from chatkpi_plugins.demo_run import run_steps

from tests.servers import moto_s3  # noqa: F401 - a fixture
from tests.test_extract_imap import export_text

pytestmark = pytest.mark.airflow
N_CHATS = 5


def test_daily_run_extracts_every_source_and_a_failing_one_stops_nothing(airflow_session, moto_s3, tmp_path):  # noqa: F811
    from kpi_transforms.extract.checkpoints import read_checkpoints
    from kpi_transforms.warehouse.engine import Warehouse

    base_env, workdir = airflow_session
    client = moto_s3.client()
    bucket = f"chatkpi-{uuid.uuid4().hex[:10]}"
    client.create_bucket(Bucket=bucket)
    for i in range(N_CHATS):
        client.put_object(Bucket=bucket, Key=f"exports/WhatsApp Chat with Pelanggan {i:02d}.txt", Body=export_text(i, f"Pelanggan {i:02d}"))
    landing = tmp_path / "landing"
    landing.mkdir()
    config = tmp_path / "chatkpi.yaml"
    config.write_text(
        "timezone: Asia/Jakarta\nagents:\n  - {id: dewi, names: [Dewi CS]}\n"
        f"landing_dir: {landing}\nlake_dir: {tmp_path / 'lake'}\nextract:\n  s3:\n"
        f"    - {{name: hilang, bucket: ember-yang-tidak-ada, endpoint_url: '{moto_s3.endpoint_url}', region: us-east-1,\n"
        "       access_key_env: CHATKPI_TEST_KEY, secret_key_env: CHATKPI_TEST_SECRET}\n"
        f"    - {{name: gudang, bucket: {bucket}, prefix: exports/, endpoint_url: '{moto_s3.endpoint_url}', region: us-east-1}}\n",
        encoding="utf-8",
    )
    url = f"duckdb:///{tmp_path / 'w.duckdb'}"
    env = {k: v for k, v in base_env.items() if not k.startswith("AWS_")}
    env.update(
        CHATKPI_CONFIG=str(config), CHATKPI_WAREHOUSE_URL=url, CHATKPI_STAGE_DIR=str(tmp_path / "stage"),
        CHATKPI_TEST_KEY="testing", CHATKPI_TEST_SECRET="testing", AWS_EC2_METADATA_DISABLED="true",
        AWS_CONFIG_FILE=str(tmp_path / "no-aws-config"), AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "no-aws-credentials"),
        # gudang names no environment variables: only this Airflow connection gives it keys
        AIRFLOW_CONN_CHATKPI_S3_GUDANG=json.dumps({"conn_type": "aws", "login": "testing", "password": "rahasia-s3-Sekret"}),
    )
    first = run_steps([("chatkpi_daily", "2025-06-02T01:00:00+07:00", str(landing))], env, cwd=workdir, capture=True)
    output = first.stdout + first.stderr
    assert "extraction unit(s): s3 hilang, s3 gudang" in output
    assert "extract s3 hilang: FAILED: ExtractError: s3 source 'hilang'" in output and "NoSuchBucket" in output
    assert f"extract s3 gudang: {N_CHATS} fetched, {N_CHATS} file(s) written" in output
    assert "extract_source failed/success x2" in output and "load_batch success" in output, output[-3000:]
    assert "1 extraction checkpoint proposal(s) committed with it" in output
    assert "rahasia-s3-Sekret" not in output

    warehouse = Warehouse(url)
    try:
        assert warehouse.scalar("select count(*) from marts.fct_message") == 3 * N_CHATS
        batch = warehouse.scalar("select batch_id from audit.batch")
        checkpoints = read_checkpoints(warehouse, "s3", "gudang")
        assert len(checkpoints) == N_CHATS
        assert set(warehouse.read_df("select distinct batch_id from audit.extract_checkpoint")["batch_id"]) == {batch}
        assert read_checkpoints(warehouse, "s3", "hilang") == {}
    finally:
        warehouse.dispose()

    second = run_steps([("chatkpi_daily", "2025-06-03T01:00:00+07:00", str(landing))], env, cwd=workdir, capture=True)
    output = second.stdout + second.stderr
    assert "extract s3 gudang: 0 fetched, 0 file(s) written" in output
    assert "0 new file(s)" in output and "load_batch skipped" in output, output[-3000:]
    warehouse = Warehouse(url)
    try:
        assert warehouse.scalar("select count(*) from marts.fct_message") == 3 * N_CHATS
        assert warehouse.scalar("select count(*) from audit.batch") == 1
        assert len(read_checkpoints(warehouse, "s3", "gudang")) == N_CHATS
    finally:
        warehouse.dispose()


def test_credentials_come_from_the_airflow_connection_else_the_environment(monkeypatch):
    from types import SimpleNamespace

    from airflow.exceptions import AirflowNotFoundException
    from airflow.sdk import Connection
    from chatkpi_plugins import tasks

    from kpi_transforms.extract.common import ExtractError
    from kpi_transforms.extract.imap import ImapCredentials, ImapSource
    from kpi_transforms.extract.s3 import S3Source

    defined = {
        "chatkpi_imap_sales": SimpleNamespace(login="sales@batiksekar.co.id", password="Rahasia-1"),
        "gudang_keys": SimpleNamespace(login="AKIAGUDANG", password="Rahasia-2"),
        "tanpa_sandi": SimpleNamespace(login="x", password=None),
    }

    def get(conn_id):
        if conn_id not in defined:
            raise AirflowNotFoundException(f"The conn_id `{conn_id}` isn't defined")
        return defined[conn_id]

    monkeypatch.setattr(Connection, "get", classmethod(lambda cls, conn_id: get(conn_id)))
    imap = {"kind": "imap", "source": "sales", "folder": "INBOX"}
    creds, keys = tasks._extract_credentials(imap, ImapSource(name="sales", host="h"))
    assert creds == ImapCredentials("sales@batiksekar.co.id", "Rahasia-1") and keys is None
    assert "Rahasia-1" not in repr(creds)
    # no connection of the default name: the extractor reads the environment
    assert tasks._extract_credentials({**imap, "source": "arsip"}, ImapSource(name="arsip", host="h")) == (None, None)
    s3 = {"kind": "s3", "source": "gudang", "folder": None}
    assert tasks._extract_credentials(s3, S3Source(name="gudang", bucket="b", conn_id="gudang_keys")) == (None, ("AKIAGUDANG", "Rahasia-2"))
    with pytest.raises(ExtractError, match="connection 'hilang' is not defined"):
        tasks._extract_credentials(s3, S3Source(name="gudang", bucket="b", conn_id="hilang"))
    with pytest.raises(ExtractError, match="needs a login and a password"):
        tasks._extract_credentials(s3, S3Source(name="gudang", bucket="b", conn_id="tanpa_sandi"))
