"""Object-storage landing against moto's S3 server on loopback (tests/servers.py): 2,000
objects, incremental by key + ETag, an interrupted run resumed, unsafe keys, credentials."""

from __future__ import annotations

import hashlib
import logging
import time
import uuid

import pytest

from kpi_transforms.core.config import parse_config
from kpi_transforms.extract.common import ExtractError
from kpi_transforms.extract.s3 import S3Source, extract_s3, landing_path
from kpi_transforms.sources.registry import parse_file
from tests.servers import landing_state, moto_s3, timing  # noqa: F401 - moto_s3 is a fixture
from tests.test_extract_imap import export_text

N_OBJECTS = 2_000
CONFIG = parse_config({"timezone": "Asia/Jakarta", "agents": [{"id": "dewi", "names": ["Dewi CS"]}]})


@pytest.fixture(autouse=True)
def _aws_env(monkeypatch):
    """Test keys for boto3, and no instance-metadata look-ups off the machine."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def bucket_with_objects(moto_s3, n: int = N_OBJECTS) -> tuple[str, dict[str, bytes]]:  # noqa: F811
    client = moto_s3.client()
    bucket = f"chatkpi-{uuid.uuid4().hex[:10]}"
    client.create_bucket(Bucket=bucket)
    objects: dict[str, bytes] = {}
    for i in range(n - 10):
        objects[f"exports/2025-09/WhatsApp Chat with Pelanggan {i:04d}.txt"] = export_text(i, f"Pelanggan {i:04d}")
    for i in range(10):
        objects[f"exports/laporan/penjualan-{i}.csv"] = f"order_id,order_date,amount\nINV-{i},2025-09-0{1 + i % 9},125000\n".encode()
    for key, data in objects.items():
        client.put_object(Bucket=bucket, Key=key, Body=data)
    client.put_object(Bucket=bucket, Key="exports/kosong/", Body=b"")  # a folder marker
    client.put_object(Bucket=bucket, Key="exports/foto/produk.png", Body=b"\x89PNG")  # not a landing file type
    client.put_object(Bucket=bucket, Key="exports/../../etc/passwd.txt", Body=b"root:x:0:0")  # would escape
    client.put_object(Bucket=bucket, Key="lain/Chat WhatsApp dengan Orang Lain.txt", Body=export_text(1, "Orang Lain"))
    return bucket, objects


def source(moto_s3, bucket: str, **kwargs) -> S3Source:  # noqa: F811
    return S3Source(name="gudang", bucket=bucket, prefix="exports/", endpoint_url=moto_s3.endpoint_url,
                    region="us-east-1", **kwargs)


def test_incremental_by_key_and_etag(moto_s3, tmp_path):  # noqa: F811
    bucket, objects = bucket_with_objects(moto_s3)
    landing = tmp_path / "landing"
    started = time.perf_counter()
    first = extract_s3(source(moto_s3, bucket), landing)
    timing("s3 first run, list + download 2,000 objects", time.perf_counter() - started, files=len(first.files))
    assert first.fetched == len(first.files) == len(objects) == N_OBJECTS
    assert first.problems == ["'exports/../../etc/passwd.txt': not a safe file path, skipped"]
    state = landing_state(landing)
    assert sorted(state.values()) == sorted(hashlib.sha256(d).hexdigest() for d in objects.values())
    etag0 = hashlib.md5(objects["exports/2025-09/WhatsApp Chat with Pelanggan 0000.txt"]).hexdigest()
    assert f"s3/gudang/2025-09/{etag0}/WhatsApp Chat with Pelanggan 0000.txt" in state
    cps = {cp.object_key: cp for cp in first.checkpoints}
    assert set(cps) == set(objects)
    assert cps["exports/2025-09/WhatsApp Chat with Pelanggan 0000.txt"].etag == etag0
    assert all(cp.folder == f"{bucket}/exports/" and cp.source_kind == "s3" for cp in cps.values())

    started = time.perf_counter()
    second = extract_s3(source(moto_s3, bucket), landing, first.checkpoints)
    timing("s3 second run, list 2,000 unchanged objects", time.perf_counter() - started)
    assert second.fetched == 0 and second.files == [] and second.checkpoints == []

    client = moto_s3.client()
    changed = "exports/2025-09/WhatsApp Chat with Pelanggan 0007.txt"
    new_body = objects[changed] + "03/09/25 11.00 - Pelanggan 0007: Kak, barangnya sudah sampai\n".encode()
    client.put_object(Bucket=bucket, Key=changed, Body=new_body)
    client.put_object(Bucket=bucket, Key="exports/2025-10/Chat WhatsApp dengan Ibu Ratna.txt", Body=export_text(3, "Ibu Ratna"))
    third = extract_s3(source(moto_s3, bucket), landing, first.checkpoints)
    assert third.fetched == 2
    assert sorted(cp.object_key for cp in third.checkpoints) == sorted([changed, "exports/2025-10/Chat WhatsApp dengan Ibu Ratna.txt"])
    new_etag = hashlib.md5(new_body).hexdigest()
    assert {cp.object_key: cp.etag for cp in third.checkpoints}[changed] == new_etag
    # both versions stay in the landing folder; the ingest merges the cumulative export
    assert (landing / f"s3/gudang/2025-09/{new_etag}/WhatsApp Chat with Pelanggan 0007.txt").read_bytes() == new_body
    assert len(landing_state(landing)) == N_OBJECTS + 2

    parsed = parse_file(landing / f"s3/gudang/2025-09/{new_etag}/WhatsApp Chat with Pelanggan 0007.txt", CONFIG)
    assert [(r.status, r.chat_name, r.messages_read) for r in parsed] == [("parsed", "Pelanggan 0007", 4)]


def test_interrupted_run_resumes_without_loss_or_doubles(moto_s3, tmp_path):  # noqa: F811
    bucket, objects = bucket_with_objects(moto_s3, 600)
    reference_dir = tmp_path / "reference"
    extract_s3(source(moto_s3, bucket, workers=1), reference_dir)
    reference = landing_state(reference_dir)
    landing = tmp_path / "landing"
    seen = []

    def explode(key, path):
        seen.append(key)
        if len(seen) == 250:
            raise RuntimeError("connection reset (simulated)")

    with pytest.raises(ExtractError, match="RuntimeError: connection reset"):
        extract_s3(source(moto_s3, bucket, workers=1), landing, on_object=explode)
    partial = landing_state(landing)
    assert 250 <= len(partial) < len(reference)
    resumed = extract_s3(source(moto_s3, bucket), landing)
    assert len(resumed.landed) == len(partial) and resumed.fetched == len(reference) - len(partial)
    assert len(resumed.checkpoints) == len(reference)
    assert landing_state(landing) == reference
    assert not list(landing.rglob(".*tmp-*"))


def test_unsafe_keys_and_paths(tmp_path):
    base = tmp_path / "s3" / "x"
    assert landing_path(base, "p/", "p/a/b/Chat.txt", "e1") == base / "a" / "b" / "e1" / "Chat.txt"
    assert landing_path(base, "p/", "p/../x.txt", "e1") is None
    assert landing_path(base, "", "/etc/passwd.txt", "e1") is None
    assert landing_path(base, "", "a/./b.txt", "e1") == base / "a" / "e1" / "b.txt"  # "." is harmless
    assert landing_path(base, "", "a\\..\\b.txt", "e1") is None
    assert landing_path(base, "", "a/.hidden.txt", "e1") == base / "a" / "e1" / "hidden.txt"


def test_credentials_from_named_environment_and_never_logged(moto_s3, tmp_path, monkeypatch, caplog):  # noqa: F811
    caplog.set_level(logging.DEBUG, logger="kpi_transforms")
    bucket, _objects = bucket_with_objects(moto_s3, 12)
    named = source(moto_s3, bucket, access_key_env="GUDANG_S3_KEY", secret_key_env="GUDANG_S3_SECRET")
    with pytest.raises(ExtractError, match="set the environment variables GUDANG_S3_KEY and GUDANG_S3_SECRET"):
        extract_s3(named, tmp_path)
    monkeypatch.setenv("GUDANG_S3_KEY", "AKIAGUDANGTEST")
    monkeypatch.setenv("GUDANG_S3_SECRET", "rahasia-gudang-Secret-123")
    result = extract_s3(named, tmp_path)
    assert result.fetched == 12
    with pytest.raises(ExtractError) as missing:
        extract_s3(source(moto_s3, "ember-yang-tidak-ada", access_key_env="GUDANG_S3_KEY", secret_key_env="GUDANG_S3_SECRET"), tmp_path)
    assert "NoSuchBucket" in str(missing.value)
    text = caplog.text + str(missing.value)
    assert "s3 source gudang" in caplog.text
    assert "rahasia-gudang-Secret-123" not in text and "AKIAGUDANGTEST" not in text


def test_extract_load_stage_then_nothing_twice(moto_s3, tmp_path):  # noqa: F811
    """The chain phase B wires: extract -> ingest the landing folder -> stage the checkpoints;
    the next extraction fetches nothing and the next ingest loads nothing."""
    from kpi_transforms.extract.checkpoints import read_checkpoints, stage_checkpoints
    from kpi_transforms.pipeline.ingest import ingest_paths
    from kpi_transforms.warehouse.engine import Warehouse

    bucket, objects = bucket_with_objects(moto_s3, 12)
    warehouse = Warehouse(f"duckdb:///{tmp_path / 'wh.duckdb'}")
    warehouse.init()
    landing = tmp_path / "landing"
    src = source(moto_s3, bucket, suffixes=(".txt",))
    first = extract_s3(src, landing, read_checkpoints(warehouse, "s3", "gudang"))
    assert first.fetched == 2  # the two WhatsApp exports (.csv left out by suffixes)
    report = ingest_paths([landing], CONFIG, warehouse, lake_dir=tmp_path / "lake")
    assert report.count("loaded") == 2 and report.messages_new == 6
    with warehouse.begin() as conn:
        stage_checkpoints(warehouse, conn, first.checkpoints, batch_id=report.batch_id)
    second = extract_s3(src, landing, read_checkpoints(warehouse, "s3", "gudang"))
    assert second.fetched == 0 and second.files == []
    again = ingest_paths([landing], CONFIG, warehouse, lake_dir=tmp_path / "lake")
    assert again.messages_new == 0 and again.count("skipped") == 2
    assert warehouse.scalar("select count(*) from marts.fct_message") == 6
    warehouse.dispose()
