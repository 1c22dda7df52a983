"""An order's product lines (issue 19, ``marts.fct_order_product``) are replaced as a whole by
the winning sales report: a revised report that drops a product deletes its old line, and the
same reports in any order or batching give the same table."""

from __future__ import annotations

import itertools

import pandas as pd
import pytest

from kpi_transforms.core.config import parse_config
from kpi_transforms.pipeline.ingest import ingest_paths
from kpi_transforms.warehouse.engine import Warehouse

CONFIG = parse_config({})
HEADER = "No. Pesanan,Tanggal,Nama Pelanggan,Total,Pasar,Produk,Kategori Produk\n"
# January report (as of 25 Jan): INV-1 two lines, INV-2 one, INV-3 listed without products
JANUARY = HEADER + (
    "INV-1,10/01/2025,Budi,1.000.000,Lokal,Mug Keramik,Mug\n"
    "INV-1,10/01/2025,Budi,1.000.000,Lokal,Tumbler 500ml,Tumbler\n"
    "INV-2,20/01/2025,Sari,500.000,Lokal,Totebag,\n"
    "INV-3,25/01/2025,Dewi,750.000,Lokal,,\n"
)
# revised report (as of 3 Feb): INV-1 lost its tumbler, INV-2 lost every product, INV-3 gained one
REVISED = HEADER + (
    "INV-1,10/01/2025,Budi,600.000,Lokal,Mug Keramik,Mug\n"
    "INV-2,20/01/2025,Sari,500.000,Lokal,,\n"
    "INV-3,25/01/2025,Dewi,750.000,Lokal,Tumbler 750ml,Tumbler\n"
    "INV-4,03/02/2025,Budi,250.000,Lokal,Mug Enamel,Mug\n"
)
# a report without product columns says nothing about products: lines stay
PLAIN = "No. Pesanan,Tanggal,Nama Pelanggan,Total,Pasar\nINV-1,10/01/2025,Budi,600.000,Lokal\nINV-4,04/02/2025,Budi,250.000,Lokal\n"

EXPECTED = [
    ["INV-1|mug|mug keramik", "INV-1", "Mug Keramik", "Mug", "2025-02-03", "revised.csv"],
    ["INV-2||", "INV-2", None, None, "2025-02-03", "revised.csv"],
    ["INV-3|tumbler|tumbler 750ml", "INV-3", "Tumbler 750ml", "Tumbler", "2025-02-03", "revised.csv"],
    ["INV-4|mug|mug enamel", "INV-4", "Mug Enamel", "Mug", "2025-02-03", "revised.csv"],
]


def _lines(url: str) -> list[list]:
    frame = Warehouse(url).read_df(
        "select line_key, order_id, product, product_category, report_as_of, source_file from marts.fct_order_product order by line_key")
    frame["report_as_of"] = pd.to_datetime(frame["report_as_of"]).dt.strftime("%Y-%m-%d")
    frame["source_file"] = frame["source_file"].map(lambda s: s.rsplit("/", 1)[-1])
    return [[None if pd.isna(v) else v for v in row] for row in frame.values.tolist()]


def _write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_first_report_lines(warehouse_url, tmp_path):
    ingest_paths([_write(tmp_path, "january.csv", JANUARY)], CONFIG, Warehouse(warehouse_url), lake_dir=tmp_path / "lake")
    assert _lines(warehouse_url) == [
        ["INV-1|mug|mug keramik", "INV-1", "Mug Keramik", "Mug", "2025-01-25", "january.csv"],
        ["INV-1|tumbler|tumbler 500ml", "INV-1", "Tumbler 500ml", "Tumbler", "2025-01-25", "january.csv"],
        ["INV-2||totebag", "INV-2", "Totebag", None, "2025-01-25", "january.csv"],
        ["INV-3||", "INV-3", None, None, "2025-01-25", "january.csv"],
    ]


@pytest.mark.parametrize("batches", [
    [["january.csv"], ["revised.csv"]],
    [["revised.csv"], ["january.csv"]],
    [["january.csv", "revised.csv"]],
    [["revised.csv", "january.csv"]],
    [["january.csv"], ["revised.csv"], ["plain.csv"]],
    [["plain.csv"], ["revised.csv", "january.csv"]],
])
def test_revised_report_replaces_an_orders_lines_in_any_order(warehouse_url, tmp_path, batches):
    files = {"january.csv": JANUARY, "revised.csv": REVISED, "plain.csv": PLAIN}
    paths = {name: _write(tmp_path, name, text) for name, text in files.items()}
    wh = Warehouse(warehouse_url)
    for batch in batches:
        report = ingest_paths([paths[n] for n in batch], CONFIG, wh, lake_dir=tmp_path / "lake")
        assert report.count("rejected") == 0
    assert _lines(warehouse_url) == EXPECTED
    amounts = wh.read_df("select order_id, amount_idr from marts.fct_order order by order_id")
    assert [float(a) for a in amounts["amount_idr"]][:3] == [600000.0, 500000.0, 750000.0]


def test_every_permutation_gives_the_same_table_duckdb(tmp_path):
    files = {"january.csv": JANUARY, "revised.csv": REVISED, "plain.csv": PLAIN}
    paths = {name: _write(tmp_path, name, text) for name, text in files.items()}
    for i, order in enumerate(itertools.permutations(files)):
        url = f"duckdb:///{tmp_path / f'w{i}.duckdb'}"
        for name in order:
            ingest_paths([paths[name]], CONFIG, Warehouse(url), lake_dir=tmp_path / f"lake{i}")
        assert _lines(url) == EXPECTED, order
