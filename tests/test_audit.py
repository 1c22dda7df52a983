"""Audit sampling and validation (SPEC 10): the sha256 sample, the review sheet round trip,
rejected sheets, idempotent import and the two audit KPIs."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys

import pandas as pd
import pytest
from openpyxl import load_workbook

from kpi_transforms.metrics.review_sheet import AuditSheetError
from kpi_transforms.metrics import audit as sampling
from kpi_transforms.metrics import review_sheet
from kpi_transforms.pipeline import audit
from kpi_transforms.warehouse.engine import Warehouse
from tests.test_bi_views import DEMO, demo_duckdb, demo_postgres, demo_url  # noqa: F401 - fixtures

FIRST = review_sheet.HEADER_ROW + 1


def test_draw_sample_takes_the_smallest_keys():
    population = pd.DataFrame(
        {"agent_id": ["lia"] * 25 + ["rina"] * 3, "thread_id": [f"wh_{i:03d}" for i in range(25)] + ["em_1", "em_2", "em_3"]}
    )
    sample = sampling.draw_sample(population, "2025-Q1")
    lia = sample[sample["agent_id"] == "lia"]
    keys = sorted(hashlib.sha256(f"2025-Q1|lia|wh_{i:03d}".encode()).hexdigest() for i in range(25))
    assert list(lia["sort_key"]) == keys[:10] and list(lia["rank"]) == list(range(1, 11))
    assert set(lia["population_size"]) == {25}
    rina = sample[sample["agent_id"] == "rina"]
    assert len(rina) == 3 and set(rina["population_size"]) == {3}  # all when fewer than 10
    assert set(sample["period"]) == {"2025-Q1"} and set(sample["period_type"]) == {"quarter"}
    # stable as data grows: new threads can only push out threads with larger keys
    bigger = pd.concat([population, pd.DataFrame({"agent_id": ["lia"] * 5, "thread_id": [f"wh_new{i}" for i in range(5)]})])
    again = sampling.draw_sample(bigger, "2025-Q1")
    kept = set(again.loc[again["agent_id"] == "lia", "thread_id"]) & set(lia["thread_id"])
    new_keys = sorted(keys + [hashlib.sha256(f"2025-Q1|lia|wh_new{i}".encode()).hexdigest() for i in range(5)])[:10]
    assert len(kept) == len(set(new_keys) & set(keys))
    # another period draws another sample
    other = sampling.draw_sample(population, "2025-Q2")
    assert list(other.loc[other["agent_id"] == "lia", "thread_id"]) != list(lia["thread_id"])


def test_sample_population_reuse_and_resample(demo_duckdb):
    wh = Warehouse(demo_duckdb)
    first = audit.sample_threads(wh, "2025-Q1")
    assert not first.reused
    s = first.sample
    # population: WhatsApp and e-mail threads by primary agent with a queue in Q1
    assert s.groupby("agent_id")["thread_id"].apply(set).to_dict() == {
        "lia": {"wh_9f706292091ccd0a", "wh_6a841d2b02c9481d"},
        "rina": {"em_949157ac62f9cc71", "wh_55815fec1f7abba9", "wh_ccae27c731b5448d"},
    }
    assert s.groupby("agent_id")["population_size"].first().to_dict() == {"lia": 2, "rina": 3}
    for row in s.itertuples():
        assert row.sort_key == sampling.sample_key("2025-Q1", row.agent_id, row.thread_id)
    assert s.sort_values(["agent_id", "rank"]).groupby("agent_id")["sort_key"].apply(lambda k: k.is_monotonic_increasing).all()
    again = audit.sample_threads(wh, "2025-Q1")
    assert again.reused and list(again.sample["sampled_at"]) == list(s["sampled_at"])
    only_email = audit.sample_threads(wh, "2025-Q1", resample=True, channels=["email"])
    assert not only_email.reused and list(only_email.sample["thread_id"]) == ["em_949157ac62f9cc71"]
    assert "channels email" in only_email.sample["method"].iloc[0]
    # a month has its own sample; April has one thread with a queue (Budi, unanswered)
    april = audit.sample_threads(wh, "2025-04")
    assert list(april.sample["thread_id"]) == ["wh_6a841d2b02c9481d"]
    assert len(audit.read_sample(wh, "2025-Q1")) == 1


def fill(path, decisions: dict[str, tuple[str | None, str | None]], out=None):
    """Fill the approved / notes columns by thread id, like the Head of Marketing would."""
    wb = load_workbook(path)
    ws = wb["Audit"]
    for row in range(FIRST, ws.max_row + 1):
        thread = ws.cell(row, review_sheet.COL_THREAD).value
        if thread in decisions:
            approved, notes = decisions[thread]
            ws.cell(row, review_sheet.COL_APPROVED, approved)
            ws.cell(row, review_sheet.COL_NOTES, notes)
    wb.save(out or path)
    return out or path


def sheet_rows(path) -> list[dict]:
    ws = load_workbook(path)["Audit"]
    header = [c.value for c in ws[review_sheet.HEADER_ROW]]
    return [dict(zip(header, [c.value for c in ws[r]])) for r in range(FIRST, ws.max_row + 1)]


def test_review_sheet_round_trip_and_kpis(demo_url, tmp_path):
    wh = Warehouse(demo_url)
    audit.sample_threads(wh, "2025-Q1")
    sheet = audit.write_review_sheet(wh, "2025-Q1", tmp_path / "audit_2025-Q1.xlsx")
    rows = sheet_rows(sheet)
    assert [r["Thread ID"] for r in rows[:2]] == sorted(["wh_9f706292091ccd0a", "wh_6a841d2b02c9481d"],
                                                        key=lambda t: sampling.sample_key("2025-Q1", "lia", t))
    assert len(rows) == 5 and all(r["Disetujui (Ya/Tidak)"] is None and r["Catatan"] is None for r in rows)
    budi = next(r for r in rows if r["Thread ID"] == "wh_6a841d2b02c9481d")
    assert budi["Periode"] == "2025-Q1" and budi["Agen"] == "lia" and budi["Kanal"] == "whatsapp"
    assert budi["Cuplikan pertanyaan"].startswith("[06/01 09.12] Budi Santoso: Selamat pagi kak")
    assert budi["Cuplikan balasan"].startswith("[06/01 09.31] Lia Sales: Selamat pagi Pak Budi")
    assert (budi["Durasi balas"], budi["Durasi balas (detik)"], budi["Dalam 1 hari kerja"]) == ("19 menit", 1140, "Ya")
    email = next(r for r in rows if r["Thread ID"] == "em_949157ac62f9cc71")
    assert email["Durasi balas"] == "16 jam 40 menit" and email["Durasi jam kerja (detik)"] == 6000
    wb = load_workbook(sheet)
    assert wb[review_sheet.META_SHEET].sheet_state == "veryHidden" and wb[review_sheet.META_SHEET].protection.sheet
    assert wb["Audit"].protection.sheet
    validations = wb["Audit"].data_validations.dataValidation
    assert len(validations) == 1 and validations[0].formula1 == '"Ya,Tidak"' and "H4:H8" in str(validations[0].sqref)  # layout 2 (issue 17)

    # the e-mail thread's sampled queue was late (made so here): approved but not fast
    with wh.begin() as conn:
        wh.execute(conn, "update marts.fct_reply_pair set within_1_working_day = false where thread_id = 'em_949157ac62f9cc71'")
    lia_first = rows[0]["Thread ID"]
    filled = fill(sheet, {
        lia_first: ("Ya", "Ramah dan lengkap"), rows[1]["Thread ID"]: ("Tidak", "Harga belum disebut"),
        "em_949157ac62f9cc71": ("Ya", None), "wh_55815fec1f7abba9": ("ya ", None),  # case and spaces are forgiven
        "wh_ccae27c731b5448d": (None, None),
    }, tmp_path / "filled.xlsx")
    result = audit.import_review_sheet(wh, filled)
    assert (result.rows, result.reviewed, result.inserted, result.updated, result.unchanged) == (5, 4, 4, 0, 0)
    stored = wh.read_df("select * from audit.validation order by agent_id, thread_id")
    assert len(stored) == 4 and set(stored["period"]) == {"2025-Q1"}
    assert stored.set_index("thread_id").loc[lia_first, "notes"] == "Ramah dan lengkap"
    assert set(stored["sheet_sha256"]) == {hashlib.sha256(filled.read_bytes()).hexdigest()}

    kpis = wh.read_df("select kpi_code, agent_id, value, basis_count, note from marts.fct_kpi where period_start = '2025-01-01'")
    got = {(r.kpi_code, r.agent_id if isinstance(r.agent_id, str) else None): (r.value, r.basis_count, r.note if isinstance(r.note, str) else None)
           for r in kpis.itertuples()}
    assert got[("response_validated_rate", None)] == (75.0, 4, "4 of 5 reviewed")   # 3 of 4 approved
    assert got[("response_speed_rate", None)] == (50.0, 4, "4 of 5 reviewed")       # lia's + Dewi's
    assert got[("response_validated_rate", "lia")] == (50.0, 2, None)
    assert got[("response_speed_rate", "lia")] == (50.0, 2, None)
    assert got[("response_validated_rate", "rina")] == (100.0, 2, "2 of 3 reviewed")
    assert got[("response_speed_rate", "rina")] == (50.0, 2, "2 of 3 reviewed")
    assert audit.audit_kpis(wh, "2025-Q1")["value"].tolist() == [75.0, 50.0, 50.0, 50.0, 100.0, 50.0]


def test_import_is_idempotent(demo_duckdb, tmp_path):
    wh = Warehouse(demo_duckdb)
    audit.sample_threads(wh, "2025-Q1")
    sheet = audit.write_review_sheet(wh, "2025-Q1", tmp_path / "s.xlsx")
    threads = [r["Thread ID"] for r in sheet_rows(sheet)]
    filled = fill(sheet, {t: ("Ya", None) for t in threads[:3]})
    first = audit.import_review_sheet(wh, filled)
    assert first.inserted == 3

    def snapshot():
        return (wh.read_df("select * from audit.validation order by thread_id"),
                wh.read_df("select * from marts.fct_kpi order by kpi_code, agent_id"))

    before = snapshot()
    second = audit.import_review_sheet(wh, filled)
    assert (second.inserted, second.updated, second.unchanged, second.changed) == (0, 0, 3, False)
    after = snapshot()
    pd.testing.assert_frame_equal(before[0], after[0])
    pd.testing.assert_frame_equal(before[1], after[1])
    # a changed decision replaces only that row
    fill(filled, {threads[0]: ("Tidak", "Kurang sopan"), threads[3]: ("Ya", None)})
    third = audit.import_review_sheet(wh, filled)
    assert (third.inserted, third.updated, third.unchanged) == (1, 1, 2)
    now = wh.read_df("select * from audit.validation order by thread_id").set_index("thread_id")
    old = before[0].set_index("thread_id")
    assert not bool(now.loc[threads[0], "approved"]) and now.loc[threads[0], "notes"] == "Kurang sopan"
    assert now.loc[threads[1], "reviewed_at"] == old.loc[threads[1], "reviewed_at"]
    assert now.loc[threads[0], "reviewed_at"] > old.loc[threads[0], "reviewed_at"]


def _edit(path, out, edits: dict[tuple[int, int], object]):
    wb = load_workbook(path)
    for (row, col), value in edits.items():
        wb["Audit"].cell(row, col, value)
    wb.save(out)
    return out


def _forge_meta(path, out, change, key=None):
    """Edit the hidden metadata *and* recompute its hash, as a forger holding the warehouse's
    sheet key would (without it the hash cannot be recomputed: tests/hostile/test_review_sheet.py)."""
    wb = load_workbook(path)
    meta = json.loads(review_sheet.read_metadata(wb[review_sheet.META_SHEET]))
    change(meta, wb)
    meta["content_sha256"] = review_sheet._meta_hash(meta, key)
    review_sheet.write_metadata(wb[review_sheet.META_SHEET], meta)
    wb.save(out)
    return out


def test_rejected_sheets_name_the_row(demo_duckdb, tmp_path):
    wh = Warehouse(demo_duckdb)
    audit.sample_threads(wh, "2025-Q1")
    sheet = audit.write_review_sheet(wh, "2025-Q1", tmp_path / "s.xlsx")
    rows = sheet_rows(sheet)

    bad = _edit(sheet, tmp_path / "bad_value.xlsx", {(FIRST + 1, review_sheet.COL_APPROVED): "Mungkin"})
    with pytest.raises(AuditSheetError, match=r"row 5: 'Mungkin' in 'Disetujui \(Ya/Tidak\)': write Ya or Tidak"):
        audit.import_review_sheet(wh, bad)

    edited = _edit(sheet, tmp_path / "edited.xlsx", {(FIRST, review_sheet.COL_THREAD): "wh_0000000000000000"})
    with pytest.raises(AuditSheetError, match=r"row 4: agent/thread id edited"):
        audit.import_review_sheet(wh, edited)

    period = _edit(sheet, tmp_path / "period.xlsx", {(FIRST + 2, review_sheet.COL_PERIOD): "2025-Q2"})
    with pytest.raises(AuditSheetError, match=r"row 6: period '2025-Q2' differs from the sheet's period 2025-Q1 \(different period\)"):
        audit.import_review_sheet(wh, period)
    with pytest.raises(AuditSheetError, match=r"sheet of period 2025-Q1, not 2025-Q2 \(different period\)"):
        audit.import_review_sheet(wh, sheet, expect_period="2025-Q2")

    wb = load_workbook(sheet)
    ms = wb[review_sheet.META_SHEET]
    ms.cell(review_sheet.META_ROW, 2, ms.cell(review_sheet.META_ROW, 2).value.replace(rows[0]["Thread ID"], "wh_x"))
    wb.save(tmp_path / "meta.xlsx")
    with pytest.raises(AuditSheetError, match="metadata sheet was edited"):
        audit.import_review_sheet(wh, tmp_path / "meta.xlsx")

    def unknown(meta, wb):
        meta["rows"][2][2] = "wh_ffffffffffffffff"
        wb["Audit"].cell(FIRST + 2, review_sheet.COL_THREAD, "wh_ffffffffffffffff")

    forged = _forge_meta(sheet, tmp_path / "forged.xlsx", unknown, audit.sheet_key(wh))
    with pytest.raises(AuditSheetError, match=r"row 6: unknown thread 'wh_ffffffffffffffff': not in the audit sample of 2025-Q1"):
        audit.import_review_sheet(wh, forged)

    def other_period(meta, wb):
        meta["period"] = "2024-Q4"
        for r in range(FIRST, FIRST + len(rows)):
            wb["Audit"].cell(r, review_sheet.COL_PERIOD, "2024-Q4")

    with pytest.raises(AuditSheetError, match=r"no audit sample for period 2024-Q4 in this warehouse \(different period"):
        audit.import_review_sheet(wh, _forge_meta(sheet, tmp_path / "q4.xlsx", other_period, audit.sheet_key(wh)))

    deleted = load_workbook(sheet)
    deleted["Audit"].delete_rows(FIRST + 4)
    deleted.save(tmp_path / "short.xlsx")
    with pytest.raises(AuditSheetError, match=r"row 8: missing"):
        audit.import_review_sheet(wh, tmp_path / "short.xlsx")

    (tmp_path / "junk.xlsx").write_bytes(b"not a workbook")
    with pytest.raises(AuditSheetError, match="not a readable .xlsx"):
        audit.import_review_sheet(wh, tmp_path / "junk.xlsx")

    # the sample was drawn again after the sheet was made
    with wh.begin() as conn:
        wh.execute(conn, "update audit.sample set rank = rank + 10 where period = '2025-Q1'")
    with pytest.raises(AuditSheetError, match="drawn again after this sheet was made"):
        audit.import_review_sheet(wh, sheet)
    assert wh.scalar("select count(*) from audit.validation") == 0  # nothing was imported


def test_cli_audit_sample_and_import(demo_duckdb, tmp_path):
    cfg = str(DEMO / "chatkpi.yaml")

    def chatkpi(*args):
        return subprocess.run([sys.executable, "-m", "kpi_transforms.cli", "--config", cfg, "--warehouse", demo_duckdb, *args],
                              cwd=tmp_path, capture_output=True, text=True, timeout=300)

    out = tmp_path / "review.xlsx"
    done = chatkpi("audit", "sample", "--period", "2025-Q1", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "audit sample 2025-Q1: drawn now" in done.stdout and f"wrote {out}" in done.stdout
    assert "rina                  3        3" in done.stdout
    fill(out, {r["Thread ID"]: ("Ya", None) for r in sheet_rows(out)})
    done = chatkpi("audit", "import", str(out))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "audit sheet for 2025-Q1: 5 of 5 rows reviewed; 5 new, 0 changed, 0 unchanged decisions (audit.validation)"
    _edit(out, tmp_path / "bad.xlsx", {(FIRST, review_sheet.COL_APPROVED): "Yes"})
    done = chatkpi("audit", "import", str(tmp_path / "bad.xlsx"))
    assert done.returncode == 2
    assert done.stderr.strip() == ("chatkpi: error: bad.xlsx rejected: row 4: 'Yes' in 'Disetujui (Ya/Tidak)': "
                                   "write Ya or Tidak, or leave it empty")


# -- issue 17: a review sheet the Head of Marketing fills without help ---------------------------
def test_review_sheet_layout(demo_duckdb, tmp_path):
    from openpyxl.utils import get_column_letter

    wh = Warehouse(demo_duckdb)
    audit.sample_threads(wh, "2025-Q1")
    ws = load_workbook(audit.write_review_sheet(wh, "2025-Q1", tmp_path / "s.xlsx"))["Audit"]
    header = [ws.cell(review_sheet.HEADER_ROW, c).value for c in range(1, 19)]
    # the decision, the notes and the intent cells come right after the two excerpts
    assert header[5:10] == ["Cuplikan pertanyaan", "Cuplikan balasan", "Disetujui (Ya/Tidak)", "Catatan", "Intent (sistem)"]
    widths = [ws.column_dimensions[get_column_letter(c)].width for c in range(1, 19)]
    left_of_decision = sum(widths[:review_sheet.COL_APPROVED - 1])
    assert left_of_decision == 138  # characters (was 264): about 1 000 px, one screen
    assert ws.freeze_panes == "D4"  # header rows and No / agent / thread name frozen both ways
    heights = [ws.row_dimensions[r].height for r in range(FIRST, FIRST + 5)]
    assert all(h is not None and 18 <= h <= 409 for h in heights)
    for r, h in zip(range(FIRST, FIRST + 5), heights):  # tall enough for the longest wrapped cell
        excerpt = ws.cell(r, 6).value or ""
        lines = sum(max(1, -(-len(part) // 42)) for part in excerpt.split("\n"))
        assert h >= min(409, 15 * lines)
    assert max(heights) > 18  # some excerpt wraps
    assert ws.page_setup.orientation == "landscape" and ws.page_setup.fitToWidth == 1 and ws.page_setup.fitToHeight == 0
    assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.print_title_rows == "$3:$3"
    assert str(ws.print_area).endswith("$A$1:$M$8")
    # reviewer and date cells are open for input; the standard is one line above the table
    assert (ws["H1"].value, ws["H2"].value) == ("Pemeriksa", "Tanggal periksa")
    assert not ws["I1"].protection.locked and not ws["I2"].protection.locked and ws["A4"].protection.locked
    assert ws["A2"].value.splitlines()[0].startswith("Sesuai standar perusahaan = balasan sopan")
    # the summary counts and shares, live while the sheet is filled
    assert (ws["J1"].value, ws["K1"].value) == ("Ya", '=COUNTIF(H4:H8,"Ya")')
    assert (ws["M1"].value, ws["N1"].value) == ("Tidak", '=COUNTIF(H4:H8,"Tidak")')
    assert (ws["J2"].value, ws["K2"].value, ws["M2"].value, ws["N2"].value) == ("Belum diperiksa", "=N2-K1-N1", "Jumlah", 5)
    assert ws["L1"].value == "=IF($N$2=0,0,K1/$N$2)" and ws["L1"].number_format == "0.0%"


def test_layout_1_sheets_still_import(demo_duckdb, tmp_path):
    """A sheet exported before the new layout (format /1) imports with the same decisions."""
    wh = Warehouse(demo_duckdb)
    audit.sample_threads(wh, "2025-Q1")
    sheet = audit.write_review_sheet(wh, "2025-Q1", tmp_path / "s.xlsx")
    wb = load_workbook(sheet)
    ws = wb["Audit"]
    ws.unmerge_cells("A2:G2")
    n_rows = 5
    grid = {r: [ws.cell(r, c).value for c in range(1, 19)] for r in range(review_sheet.HEADER_ROW, FIRST + n_rows)}
    for r, values in grid.items():
        old = [None] * 18
        for new_col, old_col in enumerate(review_sheet.V1_ORDER):
            old[old_col - 1] = values[new_col]
        if r == review_sheet.HEADER_ROW:
            old = review_sheet.V1_COLUMNS["id"]
        for c, v in enumerate(old, start=1):
            ws.cell(r, c).value = v  # ws.cell(r, c, None) would keep the old value
    thread = grid[FIRST][review_sheet.COL_THREAD - 1]
    ws.cell(FIRST, 15, "Tidak")  # layout 1: Disetujui in column O, Catatan in P
    ws.cell(FIRST, 16, "Harga salah")
    meta = json.loads(review_sheet.read_metadata(wb[review_sheet.META_SHEET]))
    meta["format"] = review_sheet.SHEET_FORMAT_V1
    meta["content_sha256"] = review_sheet._meta_hash(meta, audit.sheet_key(wh))
    review_sheet.write_metadata(wb[review_sheet.META_SHEET], meta)
    wb.save(tmp_path / "v1.xlsx")
    result = audit.import_review_sheet(wh, tmp_path / "v1.xlsx")
    assert (result.rows, result.reviewed, result.inserted) == (5, 1, 1)
    stored = wh.read_df("select thread_id, approved, notes from audit.validation")
    assert list(stored["thread_id"]) == [thread] and not bool(stored["approved"].iloc[0]) and stored["notes"].iloc[0] == "Harga salah"
