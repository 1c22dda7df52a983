"""Survey files (issue 19): NPS / CES answers load like the other row files — bad rows are
quarantined with their reason, the rest loads, re-loading changes nothing."""

from __future__ import annotations

import pandas as pd
import pytest

from kpi_transforms.core.config import parse_config
from kpi_transforms.core.errors import RejectedFile
from kpi_transforms.pipeline.ingest import ingest_paths
from kpi_transforms.sources.registry import detect_table_kind, header_score, parse_unit
from kpi_transforms.sources.base import ParseContext
from kpi_transforms.core.identity import Roster
from kpi_transforms.sources.tables.reader import read_rows
from kpi_transforms.sources.tables.surveys import parse_scale, parse_surveys
from kpi_transforms.warehouse.engine import Warehouse

CONFIG = parse_config({})
SHEET = """Survei Kepuasan Pelanggan
ID Pelanggan,Nama Pelanggan,Tanggal Survei,Jenis Survei,Skor,Skala
C-1,Budi,20/01/2025,NPS,10,0-10
,Sari,21/01/2025,,6,0-10
,,22/01/2025,nps,8,0-10
,Dewi,31/02/2025,nps,8,0-10
,Andi,23/01/2025,nps,11,0-10
,Eko,23/01/2025,ces,banyak,1-7
,Fajar,23/01/2025,ces,5,1-x
,Gita,23/01/2025,csat,4,1-5
,Hadi,23/01/2025,nps,7,1-7
,Indah,24/01/2025,CES,4,1-5
"""


def _table(text: str):
    return read_rows(text.encode(), ".csv", header_score)


def test_scale():
    assert parse_scale("0-10") == (0, 10)
    assert parse_scale("1 - 7") == (1, 7)
    assert parse_scale("10") == (0, 10)
    assert parse_scale("5") == (1, 5)
    assert parse_scale("7-1") is None
    assert parse_scale("tinggi") is None


def test_rows_and_their_quarantine_reasons():
    table = _table(SHEET)
    assert detect_table_kind(table.header) == "surveys"
    parsed = parse_surveys(table, CONFIG)
    rows = parsed.tables["marts.fct_survey_response"]
    assert rows[["survey", "customer_key", "score", "scale_min", "scale_max"]].values.tolist() == [
        ["nps", "C-1", 10.0, 0, 10], ["nps", "name:sari", 6.0, 0, 10], ["ces", "name:indah", 4.0, 1, 5]]
    assert str(rows["responded_at_local"].iloc[0]) == "2025-01-20 00:00:00"
    assert str(rows["responded_at"].iloc[0]) == "2025-01-19 17:00:00+00:00"  # local midnight, Asia/Jakarta
    reasons = dict(zip(parsed.rejected["source_line"], parsed.rejected["reason"]))
    assert reasons == {
        5: "neither a customer nor a thread_id",
        6: "survey date: impossible date '31/02/2025' (read as dmy)",
        7: "score 11 outside the scale 0-10",
        8: "score 'banyak' is not a number",
        9: "scale '1-x' is not a range such as 0-10 or 1-7",
        10: "survey 'csat' is not nps / ces",
        11: "an NPS answer needs the 0-10 scale",
    }


def test_a_file_without_a_usable_row_is_rejected():
    table = _table("Nama Pelanggan,Tanggal,Skor,Skala\nBudi,20/01/2025,12,0-10\n")
    with pytest.raises(RejectedFile, match="no usable row"):
        parse_surveys(table, CONFIG)


def _answers(url: str) -> pd.DataFrame:
    return Warehouse(url).read_df(
        "select response_id, survey, customer_key, score, scale_min, scale_max from marts.fct_survey_response order by response_id")


def test_load_quarantine_and_reload_on_both_warehouses(warehouse_url, tmp_path):
    path = tmp_path / "survei.csv"
    path.write_text(SHEET, encoding="utf-8")
    more = tmp_path / "survei_feb.xlsx"
    pd.DataFrame({"Nama Pelanggan": ["Budi", "Sari"], "Tanggal": ["03/02/2025", "04/02/2025"], "Skor": [9, 3], "Skala": ["0-10", "1-7"]}
                 ).to_excel(more, index=False)
    wh = Warehouse(warehouse_url)
    report = ingest_paths([path, more], CONFIG, wh, lake_dir=tmp_path / "lake")
    assert sorted((f.status, f.kind, f.quarantined_lines) for f in report.files) == [
        ("loaded", "surveys", 0), ("loaded", "surveys", 7)]
    first = _answers(warehouse_url)
    assert len(first) == 5
    assert sorted(first["survey"]) == ["ces", "ces", "nps", "nps", "nps"]
    rejected = wh.read_df("select source_line, reason from audit.rejected_row order by source_line")
    assert rejected["source_line"].tolist() == [5, 6, 7, 8, 9, 10, 11]
    again = ingest_paths([more, path], CONFIG, wh, lake_dir=tmp_path / "lake")
    assert again.count("skipped") == 2
    pd.testing.assert_frame_equal(_answers(warehouse_url), first)
    # the other order into a fresh warehouse gives the same table
    other = f"duckdb:///{tmp_path / 'other.duckdb'}"
    ingest_paths([more], CONFIG, Warehouse(other), lake_dir=tmp_path / "lake2")
    ingest_paths([path], CONFIG, Warehouse(other), lake_dir=tmp_path / "lake2")
    pd.testing.assert_frame_equal(_answers(other), first)
