"""Issue 15 items 2 and 8 (and the review-sheet part of 6): importing a review sheet is linear
and bounded whatever the file holds, and its integrity cannot be forged without the
warehouse's key; a duplicated row is rejected with a one-line reason, not a constraint error."""

from __future__ import annotations

import hashlib
import io
import json
import time
import tracemalloc
import zipfile

import pytest
from openpyxl import load_workbook

from kpi_transforms.metrics import review_sheet
from kpi_transforms.metrics.review_sheet import AuditSheetError
from kpi_transforms.pipeline import audit
from kpi_transforms.warehouse.engine import Warehouse
from tests.test_audit import FIRST, fill, sheet_rows
from tests.test_bi_views import demo_duckdb  # noqa: F401 - fixture


@pytest.fixture
def sheet(demo_duckdb, tmp_path):
    wh = Warehouse(demo_duckdb)
    audit.sample_threads(wh, "2025-Q1")
    path = audit.write_review_sheet(wh, "2025-Q1", tmp_path / "s.xlsx")
    yield wh, path
    wh.dispose()


def _forge(path, out, change, digest):
    wb = load_workbook(path)
    meta = json.loads(review_sheet.read_metadata(wb[review_sheet.META_SHEET]))
    change(meta, wb)
    meta["content_sha256"] = digest(meta)
    review_sheet.write_metadata(wb[review_sheet.META_SHEET], meta)
    wb.save(out)
    return out


def _duplicate_last_row(meta, wb):
    """Row 9 repeats row 8's thread with the opposite decision, metadata listing it twice."""
    ws = wb["Audit"]
    last = FIRST + len(meta["rows"]) - 1
    for col in range(1, review_sheet.COL_NOTES + 1):
        ws.cell(last + 1, col, ws.cell(last, col).value)
    ws.cell(last, review_sheet.COL_APPROVED, "Ya")
    ws.cell(last + 1, review_sheet.COL_APPROVED, "Tidak")
    meta["rows"].append([len(meta["rows"]) + 1, *meta["rows"][-1][1:]])


def test_unkeyed_hash_no_longer_forges_a_sheet(sheet, tmp_path):
    wh, path = sheet

    def unkeyed(meta):  # the old content_sha256: sha256 of public fields
        body = {k: meta[k] for k in ("format", "period", "sample_sha256", "lang", "rows")}
        return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=True).encode()).hexdigest()

    forged = _forge(path, tmp_path / "f.xlsx", _duplicate_last_row, unkeyed)
    with pytest.raises(AuditSheetError, match="the metadata sheet was edited"):
        audit.import_review_sheet(wh, forged)
    assert wh.scalar("select count(*) from audit.validation") == 0


def test_duplicated_row_with_opposite_decision_is_rejected(sheet, tmp_path):
    wh, path = sheet
    key = audit.sheet_key(wh)
    forged = _forge(path, tmp_path / "d.xlsx", _duplicate_last_row, lambda meta: review_sheet._meta_hash(meta, key))
    with pytest.raises(AuditSheetError, match=r"row 9: thread '.+' of agent \w+ already on row 8 \(duplicated row\)"):
        audit.import_review_sheet(wh, forged)
    assert wh.scalar("select count(*) from audit.validation") == 0


def test_key_from_environment_signs_and_checks(sheet, tmp_path, monkeypatch):
    wh, path = sheet
    monkeypatch.setenv("CHATKPI_AUDIT_KEY", "kunci-rahasia")
    signed = audit.write_review_sheet(wh, "2025-Q1", tmp_path / "env.xlsx")
    threads = [r["Thread ID"] for r in sheet_rows(signed)]
    assert audit.import_review_sheet(wh, fill(signed, {threads[0]: ("Ya", None)})).inserted == 1
    with pytest.raises(AuditSheetError, match="its hash does not match"):  # signed with the warehouse key
        audit.import_review_sheet(wh, path)


def test_stray_cell_far_below_is_linear(sheet, tmp_path):
    wh, path = sheet
    threads = [r["Thread ID"] for r in sheet_rows(path)]
    filled = fill(path, {threads[0]: ("Ya", None)}, tmp_path / "filled.xlsx")
    wb = load_workbook(filled)
    wb["Audit"].cell(200_000, 1, "x")  # was: 20 k rows 107 s, 200 k killed after 15 min
    wb.save(tmp_path / "stray.xlsx")
    started = time.perf_counter()
    tracemalloc.start()
    result = audit.import_review_sheet(wh, tmp_path / "stray.xlsx")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert time.perf_counter() - started < 20
    assert peak < 200 * 2**20, peak
    assert (result.rows, result.inserted) == (5, 1)  # the stray cell is past the rows read: ignored
    near = load_workbook(filled)
    near["Audit"].cell(FIRST + 7, 2, "x")
    near.save(tmp_path / "near.xlsx")
    with pytest.raises(AuditSheetError, match=r"row 11: not part of the exported sheet"):
        audit.import_review_sheet(wh, tmp_path / "near.xlsx")


def _with_member(path, out, name: str, size: int):
    buffer = io.BytesIO()
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info, src.read(info.filename))
        with dst.open(name, "w", force_zip64=True) as handle:
            chunk = b"<c/>" * (2**20 // 4)
            for _ in range(size // len(chunk)):
                handle.write(chunk)
    out.write_bytes(buffer.getvalue())
    return out


def test_small_file_that_unpacks_huge_is_refused_before_loading(sheet, tmp_path):
    wh, path = sheet
    bomb = _with_member(path, tmp_path / "bomb.xlsx", "xl/worksheets/sheet9.xml", 200 * 2**20)
    assert bomb.stat().st_size < 2 * 2**20
    started = time.perf_counter()
    with pytest.raises(AuditSheetError, match=r"unpacks to \d+ bytes, more than a review sheet's limit of 104857600"):
        audit.import_review_sheet(wh, bomb)
    assert time.perf_counter() - started < 5
    big = tmp_path / "big.xlsx"
    big.write_bytes(b"PK" + b"\0" * (21 * 2**20))
    with pytest.raises(AuditSheetError, match="more than a review sheet's limit of 20971520"):
        audit.import_review_sheet(wh, big)


def test_cli_reports_duplicate_rows_in_one_line(sheet, tmp_path):
    import subprocess
    import sys

    wh, path = sheet
    key = audit.sheet_key(wh)
    forged = _forge(path, tmp_path / "d.xlsx", _duplicate_last_row, lambda meta: review_sheet._meta_hash(meta, key))
    wh.dispose()
    done = subprocess.run([sys.executable, "-m", "kpi_transforms.cli", "--warehouse", wh.url, "audit", "import", str(forged)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "duplicated row" in done.stderr, done.stderr
