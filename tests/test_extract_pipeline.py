"""Extraction wired into the pipeline (issue 20, phase B), against moto's S3 server on loopback
and both warehouses: configured sources -> extract folder -> one batch, the checkpoints staged
inside that batch's transaction; a failed batch leaves them where they were; a failing source
stops nothing; the ``chatkpi extract`` command."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from kpi_transforms import cli
from kpi_transforms.core.config import ConfigError, parse_config
from kpi_transforms.extract.checkpoints import read_checkpoints
from kpi_transforms.pipeline import extraction
from kpi_transforms.pipeline.extraction import extract_and_load, plan_units, read_pending, units_of
from kpi_transforms.warehouse.engine import Warehouse
from tests.servers import moto_s3  # noqa: F401 - a fixture
from tests.test_extract_imap import export_text

N_CHATS = 8


@pytest.fixture(autouse=True)
def _aws_env(monkeypatch):
    monkeypatch.setenv("CHATKPI_TEST_S3_KEY", "testing")
    monkeypatch.setenv("CHATKPI_TEST_S3_SECRET", "testing")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def bucket(moto_s3, n: int = N_CHATS) -> str:  # noqa: F811
    client = moto_s3.client()
    name = f"chatkpi-{uuid.uuid4().hex[:10]}"
    client.create_bucket(Bucket=name)
    for i in range(n):
        client.put_object(Bucket=name, Key=f"exports/WhatsApp Chat with Pelanggan {i:02d}.txt", Body=export_text(i, f"Pelanggan {i:02d}"))
    return name


def config_for(tmp_path: Path, moto_s3, *buckets: str, **extra):  # noqa: F811
    sources = [
        {"name": f"gudang{k}", "bucket": b, "prefix": "exports/", "endpoint_url": moto_s3.endpoint_url, "region": "us-east-1",
         "access_key_env": "CHATKPI_TEST_S3_KEY", "secret_key_env": "CHATKPI_TEST_S3_SECRET"}
        for k, b in enumerate(buckets)
    ]
    return parse_config({
        "timezone": "Asia/Jakarta", "agents": [{"id": "dewi", "names": ["Dewi CS"]}],
        "landing_dir": str(tmp_path / "landing"), "lake_dir": str(tmp_path / "lake"),
        "extract": {"s3": sources, **extra},
    })


def checkpoint_rows(warehouse: Warehouse) -> dict[str, tuple]:
    frame = warehouse.read_df("select checkpoint_key, etag, batch_id from audit.extract_checkpoint")
    return {row.checkpoint_key: (row.etag, row.batch_id) for row in frame.itertuples(index=False)}


def test_extract_then_load_commits_checkpoints_with_the_batch(moto_s3, tmp_path, warehouse_url):  # noqa: F811
    config = config_for(tmp_path, moto_s3, bucket(moto_s3))
    warehouse = Warehouse(warehouse_url)
    first = extract_and_load(config, warehouse)
    assert first.errors == []
    assert [(s["unit"], s["fetched"], s["files"]) for s in first.summaries] == [("s3 gudang0", N_CHATS, N_CHATS)]
    assert first.report.count("loaded") == N_CHATS and first.report.messages_new == 3 * N_CHATS
    assert first.checkpoints_committed == 1
    rows = checkpoint_rows(warehouse)
    assert len(rows) == N_CHATS and {b for _e, b in rows.values()} == {first.report.batch_id}
    assert read_pending(tmp_path / "landing" / "extract") == []

    second = extract_and_load(config, warehouse)  # nothing new: nothing fetched, nothing loaded twice
    assert [(s["fetched"], s["files"], s["landed"]) for s in second.summaries] == [(0, 0, 0)]
    assert second.report.messages_new == 0 and second.report.count("loaded") == 0
    assert warehouse.scalar("select count(*) from marts.fct_message") == 3 * N_CHATS
    assert checkpoint_rows(warehouse) == rows  # still the first batch's
    warehouse.dispose()


def test_failed_batch_does_not_advance_the_checkpoints(moto_s3, tmp_path, warehouse_url, monkeypatch):  # noqa: F811
    config = config_for(tmp_path, moto_s3, bucket(moto_s3))
    warehouse = Warehouse(warehouse_url)
    real = extraction.stage_ready_checkpoints

    def stage_then_fail(*args, **kwargs):  # the checkpoints are written in the batch, then the batch fails
        staged = real(*args, **kwargs)
        assert staged
        raise RuntimeError("disk full while committing the batch")

    monkeypatch.setattr(extraction, "stage_ready_checkpoints", stage_then_fail)
    with pytest.raises(RuntimeError, match="disk full"):
        extract_and_load(config, warehouse)
    assert checkpoint_rows(warehouse) == {}
    assert warehouse.scalar("select count(*) from marts.fct_message") == 0
    assert len(read_pending(tmp_path / "landing" / "extract")) == 1  # the proposal waits

    monkeypatch.setattr(extraction, "stage_ready_checkpoints", real)
    again = extract_and_load(config, warehouse)  # from the old checkpoints: the landed files are reused
    assert [(s["fetched"], s["landed"]) for s in again.summaries] == [(0, N_CHATS)]
    assert again.report.count("loaded") == N_CHATS and again.report.messages_new == 3 * N_CHATS
    assert len(checkpoint_rows(warehouse)) == N_CHATS
    assert warehouse.scalar("select count(*) from marts.fct_message") == 3 * N_CHATS
    warehouse.dispose()


def test_a_failing_source_stops_nothing(moto_s3, tmp_path, duckdb_url):  # noqa: F811
    config = config_for(tmp_path, moto_s3, "ember-yang-tidak-ada", bucket(moto_s3, 3))
    warehouse = Warehouse(duckdb_url)
    outcome = extract_and_load(config, warehouse)
    assert len(outcome.errors) == 1 and outcome.errors[0].startswith("s3 gudang0: ") and "NoSuchBucket" in outcome.errors[0]
    assert [s["unit"] for s in outcome.summaries] == ["s3 gudang1"]
    assert outcome.report.count("loaded") == 3
    keys = read_checkpoints(warehouse, "s3", "gudang1")
    assert len(keys) == 3 and read_checkpoints(warehouse, "s3", "gudang0") == {}
    warehouse.dispose()


def test_units_one_per_imap_folder_and_s3_source(tmp_path, duckdb_url):
    config = parse_config({"extract": {
        "imap": [{"name": "sales", "host": "imap.example.co.id", "folders": ["INBOX", "Sent"]}],
        "s3": [{"name": "gudang", "bucket": "b"}],
    }})
    settings = extraction.extract_settings(config)
    assert [extraction.unit_label(u) for u in units_of(settings)] == ["imap sales/INBOX", "imap sales/Sent", "s3 gudang"]
    assert [u["source"] for u in units_of(settings, ["gudang"])] == ["gudang"]
    with pytest.raises(ConfigError, match="no source named 'gudnag'"):
        units_of(settings, ["gudnag"])
    planned = plan_units(Warehouse(duckdb_url), settings)
    assert [u["checkpoints"] for u in planned] == [[], [], []]
    json.dumps(planned)  # an orchestrator passes them on as they are
    assert extraction.extract_dir(config, settings) == Path("landing") / "extract"
    assert extraction.extract_dir(config, settings, tmp_path) == tmp_path / "extract"


def _config_file(tmp_path: Path, text: str) -> str:
    path = tmp_path / "chatkpi.yaml"
    path.write_text(text, encoding="utf-8")
    return str(path)


@pytest.mark.parametrize(("text", "message"), [
    ("extract:\n  imap:\n    - {name: sales, host: h, password: rahasia}\n", "credentials do not belong in the config file"),
    ("extract:\n  s3:\n    - {name: gudang, bucket: b, acces_key_env: X}\n", "unknown key"),
    ("extract:\n  imap: []\n", "no imap or s3 source is configured"),
    ("extract: [1]\n", "extract: expected a mapping"),
])
def test_cli_bad_source_config_is_one_line_and_exit_2(tmp_path, capsys, text, message):
    code = cli.main(["--config", _config_file(tmp_path, text), "--warehouse", f"duckdb:///{tmp_path / 'w.duckdb'}", "extract"])
    err = capsys.readouterr().err
    assert code == 2 and message in err and err.count("\n") == 1 and "rahasia" not in err


def test_cli_extract_loads_then_finds_nothing_new(moto_s3, tmp_path, capsys):  # noqa: F811
    name = bucket(moto_s3, 4)
    text = (
        f"timezone: Asia/Jakarta\nlanding_dir: {tmp_path / 'landing'}\nlake_dir: {tmp_path / 'lake'}\n"
        "extract:\n  s3:\n"
        f"    - {{name: gudang, bucket: {name}, prefix: exports/, endpoint_url: '{moto_s3.endpoint_url}', region: us-east-1,\n"
        "       access_key_env: CHATKPI_TEST_S3_KEY, secret_key_env: CHATKPI_TEST_S3_SECRET}\n"
    )
    args = ["--config", _config_file(tmp_path, text), "--warehouse", f"duckdb:///{tmp_path / 'w.duckdb'}", "extract"]
    assert cli.main(args) == 0
    out = capsys.readouterr().out
    assert "s3 gudang: 4 fetched, 4 file(s) written" in out and "1 checkpoint proposal(s) committed" in out
    assert (tmp_path / "landing" / "extract" / "s3" / "gudang").is_dir()
    assert cli.main(args) == 0
    out = capsys.readouterr().out
    assert "s3 gudang: 0 fetched, 0 file(s) written" in out
    assert cli.main([*args, "--source", "gudnag"]) == 2
    assert "no source named 'gudnag'" in capsys.readouterr().err


# -- WhatsApp Business Platform webhook archives through the registry ------------------------------

FIXTURES = Path(__file__).parent / "fixtures" / "whatsapp_cloud"


def test_webhook_archives_from_a_bucket_load_as_whatsapp_chats(moto_s3, tmp_path, duckdb_url):  # noqa: F811
    from kpi_transforms.sources.whatsapp_cloud import parse_whatsapp_cloud

    client = moto_s3.client()
    name = f"chatkpi-{uuid.uuid4().hex[:10]}"
    client.create_bucket(Bucket=name)
    archive = (FIXTURES / "webhooks-2025-03-03.jsonl").read_bytes()
    client.put_object(Bucket=name, Key="exports/webhooks/2025-03-03.jsonl", Body=archive)
    client.put_object(Bucket=name, Key="exports/webhooks/payload-wamid-17.json", Body=(FIXTURES / "payload-wamid-17.json").read_bytes())
    client.put_object(Bucket=name, Key="exports/lain/catatan.json", Body=b'{"catatan": "bukan webhook"}')
    config = config_for(tmp_path, moto_s3, name, whatsapp_cloud={"default_agent": "dewi"})
    warehouse = Warehouse(duckdb_url)
    outcome = extract_and_load(config, warehouse)
    by_name = {Path(f.source_file).name: f for f in outcome.report.files}
    assert by_name["2025-03-03.jsonl"].status == "loaded" and by_name["2025-03-03.jsonl"].kind == "whatsapp_cloud"
    assert by_name["payload-wamid-17.json"].kind == "whatsapp_cloud"
    assert by_name["catatan.json"].status == "rejected" and "webhook archive" in by_name["catatan.json"].reason
    expected = parse_whatsapp_cloud(archive, config)
    agents = warehouse.read_df("select distinct agent_id from marts.fct_message where sender_role = 'agent'")["agent_id"].tolist()
    assert agents == ["dewi"]  # extract.whatsapp_cloud.default_agent reached the parser
    threads = warehouse.read_df("select distinct thread_name from marts.fct_message where channel = 'whatsapp'")["thread_name"]
    assert {t for _c, t, _f in expected.threads} <= set(threads)
    assert len(outcome.summaries) == 1 and outcome.checkpoints_committed == 1  # a rejected file is processed too
    assert len(read_checkpoints(warehouse, "s3", "gudang0")) == 3
    warehouse.dispose()


def test_dag_steps_commit_with_the_load_and_a_retry_after_the_commit_finishes_the_job(moto_s3, tmp_path, duckdb_url):  # noqa: F811
    """The daily DAG's path: plan -> extract -> scan -> stage -> load_step(extract_dir); a
    proposal left behind by a crash between the commit and its removal is committed by the
    retried load (already committed) or by the next scan, and never moves a checkpoint back."""
    import shutil

    from kpi_transforms.pipeline.extraction import commit_ready_checkpoints, extract_dir, extract_settings, extract_unit
    from kpi_transforms.pipeline.staging import find_new_files, stage_file
    from kpi_transforms.pipeline.steps import load_step

    config = config_for(tmp_path, moto_s3, bucket(moto_s3, 3))
    warehouse = Warehouse(duckdb_url)
    settings = extract_settings(config)
    out = extract_dir(config, settings)
    [unit] = plan_units(warehouse, settings)
    extract_unit(unit, settings, out)
    [(pending, proposal)] = read_pending(out)
    saved = pending.read_bytes()
    found = find_new_files([tmp_path / "landing"], warehouse)
    assert len(found["files"]) == 3
    assert commit_ready_checkpoints(warehouse, out) == 0  # its files are not loaded yet: it waits
    stage = tmp_path / "stage"
    staged = [stage_file(f, config, stage) for f in found["files"]]
    shas = [r["sha256"] for f in staged for r in json.loads((Path(f) / "result.json").read_text())]
    first = load_step(staged, shas, config, warehouse, extract_dir=out)
    assert first["checkpoints"] == 1 and first["loaded"] == 3 and not pending.exists()
    rows = checkpoint_rows(warehouse)
    assert len(rows) == 3 and {b for _e, b in rows.values()} == {first["batch_id"]}

    pending.write_bytes(saved)  # as if the worker died between the commit and the removal
    shutil.rmtree(stage)  # and the stage folder is gone too
    retry = load_step(staged, shas, config, warehouse, extract_dir=out)
    assert retry["already_committed"] and retry["checkpoints"] == 1 and not pending.exists()
    assert checkpoint_rows(warehouse) == rows
    assert warehouse.scalar("select count(*) from marts.fct_message") == 9
    assert len(proposal["files"]) == 3
    warehouse.dispose()


def test_imap_units_carry_the_warehouse_content_so_a_uidvalidity_change_lands_nothing_again(tmp_path, duckdb_url, monkeypatch):
    """After a UIDVALIDITY change the folder is read again; the planned IMAP unit carries the
    hashes of everything the warehouse has loaded or rejected, and the extractor gets them, so
    mail already loaded is not written to the landing folder a second time (S3 units dedupe by
    key + ETag and carry none)."""
    import hashlib

    from kpi_transforms.extract.common import ExtractResult
    from kpi_transforms.pipeline.ingest import ingest_paths

    config = parse_config({
        "timezone": "Asia/Jakarta", "agents": [{"id": "dewi", "names": ["Dewi CS"]}],
        "landing_dir": str(tmp_path / "landing"),
        "extract": {"imap": [{"name": "sales", "host": "imap.example.co.id", "folders": ["INBOX"]}],
                    "s3": [{"name": "gudang", "bucket": "b"}]},
    })
    landing = tmp_path / "landing"
    landing.mkdir()
    good = landing / "WhatsApp Chat with Pelanggan 01.txt"
    good.write_bytes(export_text(1, "Pelanggan 01"))
    bad = landing / "rusak.txt"
    bad.write_bytes(b"\x00\x01 bukan chat")
    warehouse = Warehouse(duckdb_url)
    ingest_paths([landing], config, warehouse)
    expected = sorted(hashlib.sha256(p.read_bytes()).hexdigest() for p in (good, bad))
    assert warehouse.scalar("select count(*) from audit.rejected_file") == 1

    settings = extraction.extract_settings(config)
    inbox, s3 = plan_units(warehouse, settings)
    assert inbox["known_sha256"] == expected and "known_sha256" not in s3
    json.dumps(inbox)

    seen = {}

    def fake_extract(source, out_dir, checkpoints, *, credentials=None, known_sha256=()):
        seen["known"] = sorted(known_sha256)
        return ExtractResult("imap", source.name)

    monkeypatch.setattr(extraction, "extract_imap", fake_extract)
    extraction.extract_unit(inbox, settings, tmp_path / "out")
    assert seen["known"] == expected
    warehouse.dispose()
