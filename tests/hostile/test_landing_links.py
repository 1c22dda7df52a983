"""Issue 15 item 3: nothing is read through a symbolic link that leaves the landing folder;
FIFOs and devices are reported as rejected files instead of being skipped silently or aborting
the batch."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kpi_transforms.core.config import parse_config
from kpi_transforms.pipeline.ingest import ingest_paths
from kpi_transforms.pipeline.staging import find_new_files, load_staged, stage_file
from kpi_transforms.warehouse.engine import Warehouse
from tests.hostile.make_corpus import GOOD, GOOD_MESSAGES

CONFIG = parse_config({"agents": [{"id": "lia", "names": ["Lia Sales"]}]})
SECRET = "SECRET_TOKEN=hunter2-do-not-leak"
OTHER = GOOD.replace("Pak Joko", "Pak Luar")


@pytest.fixture
def landing(tmp_path) -> Path:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.env.txt").write_text(SECRET + "\n")
    (outside / "Chat WhatsApp dengan Pak Luar.txt").write_text(OTHER, encoding="utf-8")
    land = tmp_path / "landing"
    (land / "sub").mkdir(parents=True)
    (land / "Chat WhatsApp dengan Pak Joko.txt").write_text(GOOD, encoding="utf-8")
    (land / "environ.txt").symlink_to("/proc/self/environ")
    (land / "secret.txt").symlink_to(outside / "secret.env.txt")
    (land / "Chat WhatsApp dengan Pak Luar.txt").symlink_to(outside / "Chat WhatsApp dengan Pak Luar.txt")
    (land / "keluar").symlink_to(outside, target_is_directory=True)
    (land / "sub" / "dalam.txt").symlink_to(land / "Chat WhatsApp dengan Pak Joko.txt")  # stays inside: followed
    os.mkfifo(land / "pipa.txt")
    return land


def _assert_outcome(wh: Warehouse, report, land: Path) -> None:
    by_name = {Path(f.source_file).name: f for f in report.files}
    assert by_name["Chat WhatsApp dengan Pak Joko.txt"].status == "loaded"
    assert by_name["Chat WhatsApp dengan Pak Joko.txt"].messages_new == GOOD_MESSAGES
    for name in ("environ.txt", "secret.txt", "Chat WhatsApp dengan Pak Luar.txt", "keluar"):
        assert by_name[name].status == "rejected", (name, by_name[name].status)
        assert "outside the landing folder" in by_name[name].reason
    assert by_name["pipa.txt"].status == "rejected" and by_name["pipa.txt"].reason == "not a regular file: a FIFO (named pipe)"
    reasons = wh.read_df("select source_file, reason from audit.rejected_file")
    assert set(reasons["source_file"].map(lambda p: Path(p).name)) >= {"environ.txt", "secret.txt", "pipa.txt", "keluar"}
    assert not reasons["reason"].str.contains("SECRET_TOKEN|hunter2|PATH=").any()
    assert wh.scalar("select count(*) from marts.fct_message where thread_name = 'Pak Luar'") == 0
    assert wh.scalar("select count(*) from marts.fct_message") == GOOD_MESSAGES


def test_ingest_does_not_follow_links_out_of_the_landing_folder(landing, tmp_path, warehouse_url):
    wh = Warehouse(warehouse_url)
    try:
        report = ingest_paths([landing], CONFIG, wh, lake_dir=tmp_path / "lake")
        _assert_outcome(wh, report, landing)
        again = ingest_paths([landing], CONFIG, wh, lake_dir=tmp_path / "lake")  # re-running is safe
        assert again.count("loaded") == 0 and again.messages_new == 0
    finally:
        wh.dispose()


def test_staged_ingest_does_the_same(landing, tmp_path, duckdb_url):
    wh = Warehouse(duckdb_url)
    found = find_new_files([landing], wh)
    assert len(found["files"]) == 6  # sub/dalam.txt is the same file as Pak Joko (one entry)
    config = parse_config({"agents": [{"id": "lia", "names": ["Lia Sales"]}], "landing_dir": str(landing)})
    folders = [stage_file(path, config, tmp_path / "stage", found["hints"]) for path in found["files"]]
    report = load_staged(folders, config, wh, lake_dir=tmp_path / "lake")
    _assert_outcome(wh, report, landing)
    assert find_new_files([landing], wh)["files"] == []
    wh.dispose()


def test_fifo_and_link_on_the_command_line_do_not_abort_the_batch(landing, tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "kpi_transforms.cli", "--warehouse", f"duckdb:///{tmp_path / 'w.duckdb'}", "ingest",
         str(landing / "pipa.txt"), str(landing / "environ.txt"), str(landing / "Chat WhatsApp dengan Pak Joko.txt"),
         "--lake", str(tmp_path / "lake")],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "SECRET" not in done.stdout and "PATH=" not in done.stdout
    assert "not a regular file: a FIFO" in done.stdout and "outside the landing folder" in done.stdout
    assert "1 loaded, 0 skipped, 2 rejected" in done.stdout
