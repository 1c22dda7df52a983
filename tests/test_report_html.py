"""Reports: the self-contained HTML page renders in headless Chromium without errors, the
``.xlsx`` holds the same tables, labels switch language, and the CLI writes both."""

from __future__ import annotations

import collections
import os
import re
import shutil
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook

from kpi_transforms.pipeline.reports import (
    collect_report_data,
    find_chromium,
    report_data,
    write_demo_reports,
    write_report,
    write_summary_pdf,
)
from kpi_transforms.present.summary import render_summary_html, traffic_light
from tests.servers import APT_ENV, apt_command, apt_lock
from kpi_transforms.present.html import render_html
from kpi_transforms.present.report_data import fact_anchor
from kpi_transforms.warehouse.engine import Warehouse
from tests.test_bi_views import DEMO, demo_config, demo_duckdb  # noqa: F401 - fixture

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if path := shutil.which(name):
            return path
    return None


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's chromium, installed once per session when missing (as root, with apt-get)."""
    found = _find_chromium()
    if found:
        return found
    why = None
    if not shutil.which("apt-get"):
        why = "apt-get is not available"
    elif hasattr(os, "geteuid") and os.geteuid() != 0:
        why = "installing chromium needs root (apt-get install -y chromium)"
    if why is None:
        with apt_lock():
            for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium"]):
                if _find_chromium():  # installed by another test worker meanwhile
                    break
                done = subprocess.run(apt_command(cmd), capture_output=True, text=True, timeout=1800, env=APT_ENV)
                if done.returncode != 0:
                    why = f"{' '.join(cmd)} failed: {(done.stderr or done.stdout).strip().splitlines()[-1:]}"
                    break
        found = _find_chromium()
        if found:
            return found
        why = why or "chromium is still missing after apt-get install"
    if IN_CI:
        pytest.fail(f"headless Chromium is required in CI: {why}")
    pytest.skip(f"no headless Chromium: {why}")


def run_chromium(chromium: str, html: Path, tmp: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={tmp / 'profile'}", "--enable-logging=stderr", "--v=0", "--window-size=1280,2000",
         *extra, html.as_uri()],
        capture_output=True, text=True, timeout=180,
    )


def png_pixels(path: Path) -> tuple[int, int, list[bytes]]:
    """A tiny PNG reader (8-bit RGB / RGBA, non-interlaced): width, height, pixel rows."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat = 8, b""
    while pos < len(data):
        (length,), kind = struct.unpack(">I", data[pos:pos + 4]), data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and colour in (2, 6) and interlace == 0
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    bpp = 3 if colour == 2 else 4
    raw, stride = zlib.decompress(idat), width * bpp
    rows, prev = [], np.zeros(stride, dtype=np.uint8)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = np.frombuffer(raw, dtype=np.uint8, count=stride, offset=y * (stride + 1) + 1).copy()
        if kind == 1:  # Sub: running sum per channel, modulo 256
            line = np.cumsum(line.reshape(width, bpp), axis=0, dtype=np.uint8).reshape(-1)
        elif kind == 2:  # Up
            line = line + prev
        elif kind in (3, 4):  # Average, Paeth: each byte depends on the one decoded before it
            out, up = bytearray(line.tobytes()), prev.tobytes()
            for i in range(stride):
                a = out[i - bpp] if i >= bpp else 0
                b = up[i]
                if kind == 3:
                    out[i] = (out[i] + ((a + b) >> 1)) & 0xFF
                else:
                    c = up[i - bpp] if i >= bpp else 0
                    p = a + b - c
                    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                    out[i] = (out[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
            line = np.frombuffer(bytes(out), dtype=np.uint8)
        rows.append(line)
        prev = line
    pixels = np.stack(rows).reshape(height, width, bpp)[:, ::7, :3]
    return width, height, [bytes(px) for px in pixels.reshape(-1, 3)]


@pytest.fixture
def report_html(demo_duckdb, tmp_path) -> Path:
    """The Indonesian team report of 2025-Q1 with the scorecards computed and stored first
    (durations and charts on top, so the 2000-pixel screenshot shows them)."""
    wh = Warehouse(demo_duckdb)
    data = report_data(wh, demo_config(), "scorecard", "2025-Q1")
    out = tmp_path / "report.html"
    out.write_text(render_html(data, focus="reply-durations"), encoding="utf-8")
    return out


def test_html_report_is_self_contained(report_html):
    text = report_html.read_text(encoding="utf-8")
    lowered = text.lower()
    for forbidden in ("http://", "https://", "src=", "<script", "@import", "url(", "<link"):
        assert forbidden not in lowered, forbidden
    assert "default-src 'none'" in text
    assert text.count("<svg") >= 7  # histogram, heatmap, 2 trend lines, 3 agent panels
    for heading in ("Laporan KPI Chat — periode 2025-Q1", "Tabel Durasi Balas Sales", "Scorecard",
                    "Distribusi First Response Time", "Volume pesan per hari dan jam", "Tren bulanan", "Perbandingan agen"):
        assert heading in text
    assert "746,9" in text and "Dibalas dalam 1 hari kerja" in text
    # template labels of the catalogue since issue 17's label item (were the codes customer_relations_officer / sales_chat)
    assert "Customer Relations Officer &amp; Order Coordinator — seluruh tim" in text and "Chat penjualan — agen lia" in text


def test_html_report_renders_in_headless_chromium(chromium, report_html, tmp_path):
    shot = tmp_path / "report.png"
    done = run_chromium(chromium, report_html, tmp_path, f"--screenshot={shot}")
    assert done.returncode == 0, done.stderr[-2000:]
    for marker in ("Uncaught", "ERROR:CONSOLE", "Refused to", "Failed to load resource"):
        assert marker not in done.stderr, [line for line in done.stderr.splitlines() if marker in line]
    assert shot.is_file() and shot.stat().st_size > 30_000
    width, height, sample = png_pixels(shot)
    assert (width, height) == (1280, 2000)
    colours = collections.Counter(sample)
    assert len(colours) > 30, "the screenshot is (nearly) one colour"
    assert colours.most_common(1)[0][1] < 0.97 * len(sample)
    assert any(r > 150 and b < 120 for r, g, b in colours)  # orange trend / agent bars rendered
    assert any(b > 150 and r < 100 for r, g, b in colours)  # blue histogram bars rendered

    dom = run_chromium(chromium, report_html, tmp_path, "--dump-dom")
    assert dom.returncode == 0
    assert "Uncaught" not in dom.stderr and "ERROR:CONSOLE" not in dom.stderr
    html = dom.stdout
    for heading in ("<h1>Laporan KPI Chat — periode 2025-Q1</h1>", "<h2>Tabel Durasi Balas Sales</h2>", "<h2>Scorecard</h2>",
                    "<h2>Grafik</h2>", "Distribusi First Response Time (jam kerja, pasangan valid)"):
        assert heading in html
    assert html.count("<svg") >= 7 and html.count("<rect") > 7 * 24
    assert ">746,9<" in html and ">91,3<" in html  # seed-000 figures of the demo
    assert ">45,9 menit<" in html  # lia's average FRT in the agents panel ("min" before issue 17: fully Indonesian)


def test_english_report_and_agent_scope(demo_duckdb, tmp_path):
    wh = Warehouse(demo_duckdb)
    data = collect_report_data(wh, demo_config(), "2025-Q1", agent_id="lia", lang="en")
    html = render_html(data)
    assert "Chat KPI report — period 2025-Q1" in html and "agent lia" in html
    assert "Sales reply durations" in html and "Answered within 1 working day" in html
    assert "No scorecard stored for this period yet" in html  # reply-durations reads, never writes
    assert list(data.frt.columns) == ["bucket_order", "bucket_label", "n_pairs", "pct_of_pairs"]
    assert data.frt["n_pairs"].sum() == 11  # lia's valid pairs in Q1
    assert data.heatmap.sum() > 0 and data.heatmap.shape == (7, 24)
    assert list(data.trend["period_label"]) == ["2025-01", "2025-02", "2025-03"]
    assert wh.scalar("select count(*) from marts.fct_scorecard") == 0


def test_xlsx_report_has_the_same_tables(demo_duckdb, tmp_path):
    wh = Warehouse(demo_duckdb)
    out = tmp_path / "r.xlsx"
    assert write_report(wh, demo_config(), "scorecard", "2025-Q1", "xlsx", out, template="sales_chat") == f"wrote {out}"
    wb = load_workbook(out)
    assert wb.sheetnames == ["Durasi Balas", "Scorecard", "Distribusi FRT", "Heatmap", "Tren Bulanan", "Per Agen"]
    durations = [[c.value for c in row] for row in wb["Durasi Balas"].iter_rows(min_row=3, max_row=7)]
    assert durations[0] == ["Metrik", "Hasil", "Satuan", "Dasar Perhitungan", "Catatan"]
    assert durations[1][:3] == ["Rata-rata durasi balas sales", 746.9, "menit"]  # a number since issue 17 (was the text "746,9")
    card = [c.value for row in wb["Scorecard"].iter_rows() for c in row if c.value is not None]
    assert "Chat penjualan — seluruh tim" in card and "Chat penjualan — agen rina" in card  # template label (was sales_chat)
    totals = [v for v in card if isinstance(v, str) and v.startswith("Total: ")]
    assert len(totals) == 3 and all("bobot template 100" in v for v in totals)  # team, lia, rina
    frt = [[c.value for c in row] for row in wb["Distribusi FRT"].iter_rows(min_row=4, max_row=11)]
    assert [r[0] for r in frt][:2] == ["0-5 menit", "5-15 menit"] and sum(r[1] for r in frt) == 22  # "min" before issue 17
    assert len(wb["Distribusi FRT"]._charts) == 1
    heat = wb["Heatmap"]
    assert sum(heat.cell(r, c).value for r in range(4, 11) for c in range(2, 26)) > 50
    assert [c.value for c in wb["Per Agen"][4]][:1] == ["lia"]


def test_cli_report_formats_and_demo_reports(demo_duckdb, tmp_path):
    cfg = str(DEMO / "chatkpi.yaml")

    def chatkpi(*args):
        return subprocess.run([sys.executable, "-m", "kpi_transforms.cli", "--config", cfg, "--warehouse", demo_duckdb, *args],
                              cwd=tmp_path, capture_output=True, text=True, timeout=300)

    done = chatkpi("report", "scorecard", "--period", "2025-Q1", "--template", "sales_chat", "--agent", "lia", "--format", "md")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("### Scorecard sales_chat — periode 2025-Q1, agen lia")
    assert "| KPI | Bobot | Target | Nilai | Capaian % | Skor | Catatan |" in done.stdout
    done = chatkpi("report", "reply-durations", "--period", "2025-Q1", "--format", "xlsx")
    assert done.returncode == 2 and done.stderr.strip() == "chatkpi: error: --format xlsx needs --out FILE.xlsx"

    done = chatkpi("report", "reply-durations", "--period", "2025-Q1", "--format", "html", "--lang", "en", "--out", str(tmp_path / "d.html"))
    assert done.returncode == 0, done.stderr
    text = (tmp_path / "d.html").read_text(encoding="utf-8")
    assert "Sales reply durations" in text and "Sales chat — agent lia" in text  # the stored scorecard is shown
    paths = write_demo_reports(Warehouse(demo_duckdb), demo_config(), tmp_path / "reports")
    summary = ["ringkasan_2025-Q1.pdf"] if find_chromium() else []  # issue 17: the one-page summary, when Chromium can print it
    assert [p.name for p in paths] == ["chatkpi_2025-Q1.html", "chatkpi_2025-Q1.xlsx", *summary, "audit_2025-Q1.xlsx"]
    assert all(p.stat().st_size > 5_000 for p in paths)


# -- issue 17: drill-down sections, masking, no nan, layout at desktop / 400 px / print ---------
LAYOUT_PROBE = """<!DOCTYPE html><html><body style="margin:0">
<iframe id="f" src="{src}" style="border:0;width:{width}px;height:900px"></iframe>
<script>
document.getElementById('f').addEventListener('load', () => {{
  const doc = document.getElementById('f').contentDocument, d = doc.documentElement, out = [];
  out.push('page ' + d.scrollWidth + ' ' + d.clientWidth);
  doc.querySelectorAll('.scroll').forEach(el => {{
    if (el.scrollWidth > el.clientWidth + 1) out.push('table ' + (el.closest('section') || {{}}).id + ' ' + el.scrollWidth + ' > ' + el.clientWidth);
  }});
  const pre = document.createElement('pre'); pre.id = 'probe'; pre.textContent = out.join('\\n'); document.body.appendChild(pre);
}});
</script></body></html>"""


def layout_overflow(chromium: str, html: str, width: int, tmp: Path, *, print_rules: bool = False) -> list[str]:
    """Render ``html`` in an iframe ``width`` px wide (the page's own CSP stays intact; the probe
    runs in the parent) and return what is wider than the viewport: the page, or a table's box.
    ``print_rules`` applies the report's print CSS on screen (A4 minus margins ≈ 703 px)."""
    if print_rules:
        html = html.replace("@media print{", "@media all{")
    target = tmp / f"report_{width}.html"
    target.write_text(html, encoding="utf-8")
    page = tmp / f"probe_{width}.html"
    page.write_text(LAYOUT_PROBE.format(src=target.name, width=width), encoding="utf-8")
    done = run_chromium(chromium, page, tmp, "--allow-file-access-from-files", "--dump-dom")
    assert done.returncode == 0, done.stderr[-2000:]
    found = re.search(r'<pre id="probe">(.*?)</pre>', done.stdout, re.S)
    assert found, done.stderr[-2000:]
    lines = found.group(1).splitlines()
    page_width, viewport = (int(v) for v in lines[0].split()[1:])
    assert width - 20 < viewport <= width  # the iframe is the viewport (less a scroll bar)
    return ([f"page {page_width} > {viewport}"] if page_width > viewport else []) + lines[1:]


@pytest.fixture
def drill_report(demo_duckdb) -> tuple[str, str]:
    """(masked, with contacts) reports of 2025-Q1 made at 25/02/2025 09.00 WIB."""
    wh = Warehouse(demo_duckdb)
    at = pd.Timestamp("2025-02-25 09:00", tz="Asia/Jakarta")
    masked = render_html(collect_report_data(wh, demo_config(), "2025-Q1", generated_at=at))
    shown = render_html(collect_report_data(wh, demo_config(), "2025-Q1", generated_at=at, show_contacts=True))
    wh.dispose()
    return masked, shown


def test_html_sla_section_links_to_transcripts(drill_report):
    html, shown = drill_report
    sla = html[html.index('<section id="sla">'):html.index('<section id="channels">')]
    # as of the report's clock (25/02 09.00): Dewi's refund question, deadline 24/02 10.10
    assert sla.count('<a href="#t-') == 1 + 5
    assert ("<td>22/02/2025 10.10</td><td>22 jam 50 menit</td><td>Dewi Lestari</td><td>rina</td><td>whatsapp</td>"
            "<td>Kak, acaranya batal, saya mau refund DP</td><td><a href=\"#t-wh_55815fec1f7abba9\">lihat</a></td>") in sla
    # slowest answer of the quarter: Friday 24/01 16.55, answered Monday, late
    assert ("<td>24/01/2025 16.55</td><td>2 hari 15 jam</td><td>4 jam 4 menit</td><td>Tidak</td><td>Toko Sinar Jaya</td>") in sla
    for thread in set(re.findall(r'href="#t-([\w]+)"', sla)):
        assert f'<article class="transcript" id="t-{thread}">' in html
    appendix = html[html.index('<section id="transcripts">'):]
    assert "▶ Q4</span> 22/02 10.10 <b>Dewi Lestari</b>: Kak, acaranya batal, saya mau refund DP <span class=\"late\">belum dijawab</span>" in appendix
    assert "◀ A3</span> 27/01 08.15" in appendix and '<span class="late">TERLAMBAT</span>' in appendix
    channels = html[html.index('<section id="channels">'):html.index('<section id="complaints">')]
    # each figure links to the channel's valid pairs (issue 17: every KPI figure links to the facts it counts)
    assert '<td>email</td><td class="num"><a href="#f-valid-email">2</a></td><td class="num"><a href="#f-valid-email">112,5</a></td>' in channels
    assert ('<td>whatsapp</td><td class="num"><a href="#f-valid-whatsapp">20</a></td><td class="num"><a href="#f-valid-whatsapp">50,8</a>'
            '</td><td class="num"><a href="#f-valid-whatsapp">19,5</a></td><td class="num"><a href="#f-valid-whatsapp">95</a></td>') in channels
    complaints = html[html.index('<section id="complaints">'):html.index('<section id="facts">')]
    assert "<td>barang kurang</td><td class=\"num\">1</td><td class=\"num\">0</td><td class=\"num\">+1</td>" in complaints
    assert 'id="aht"' not in html  # no AHT KPI in the catalogue: no section
    # masked unless asked: the phone-number thread is a pseudonym, the raw number only on request
    for text in (html, shown):
        assert ">nan<" not in text and "None<" not in text
    assert "+62 812-3456-7890" not in html and "[kontak " in html
    assert "+62 812-3456-7890" in shown


def test_stored_scorecard_notes_are_never_nan(demo_duckdb):
    wh = Warehouse(demo_duckdb)
    report_data(wh, demo_config(), "scorecard", "2025-Q1")  # computes and stores (null notes)
    html = render_html(collect_report_data(wh, demo_config(), "2025-Q1"))
    assert "Chat penjualan — seluruh tim" in html and ">nan<" not in html  # template label (catalogue), not its code


def test_html_layout_desktop_400px_and_print(chromium, drill_report, tmp_path):
    html, _ = drill_report
    assert "@media (max-width:600px)" in html and "@page{size:A4" in html
    assert "details::details-content{content-visibility:visible" in html  # print opens the agents' sections
    for width, print_rules in ((1280, False), (400, False), (703, True)):
        assert layout_overflow(chromium, html, width, tmp_path, print_rules=print_rules) == [], (width, print_rules)
    # the probe sees overflow when it is there: the same page without its narrow-screen rules
    plain = re.sub(r"@media \(max-width:600px\)\{.*?\}\}", "", html, flags=re.S).replace(".scroll{max-width:100%;overflow-x:auto}", "")
    assert any(line.startswith("page ") for line in layout_overflow(chromium, plain, 400, tmp_path))


def test_one_page_summary_with_traffic_lights(chromium, demo_duckdb, tmp_path):
    wh = Warehouse(demo_duckdb)
    data = report_data(wh, demo_config(), "scorecard", "2025-Q1")
    page = render_summary_html(data)
    lights = {kpi: light for light, kpi in re.findall(r'<tr class="light-(\w+)" data-kpi="(\w+)"', page)}
    team_rows = data.scorecards.rows[data.scorecards.rows["agent_id"].isna()]
    assert len(lights) == team_rows["kpi_code"].nunique() >= 12  # the team rows of every template
    assert lights["followup_conversion_rate"] == "grey" and lights["revenue_growth_qoq"] == "grey"  # no orders loaded
    assert (traffic_light(100.0, True), traffic_light(99.9, True), traffic_light(70.0, True), traffic_light(69.9, True),
            traffic_light(None, False)) == ("green", "amber", "amber", "red", "grey")
    rows = data.scorecards.rows[data.scorecards.rows["agent_id"].isna()]
    for r in rows.itertuples(index=False):  # every team KPI shows the light of its stored achievement
        assert lights[r.kpi_code] == traffic_light(r.achievement_pct, pd.notna(r.value)), r.kpi_code
    assert {"red", "green"} <= set(lights.values())  # the demo has KPIs on both sides of their targets
    total = data.scorecards.totals
    team = total[(total["template"] == "sales_chat") & total["agent_id"].isna()].iloc[0]
    points = f"{team['total_points']:.2f}".replace(".", ",")
    assert f"sales_chat · {points} poin dari bobot {team['weights_with_data']:g} yang ada datanya" in page
    assert "Antrean terbuka melewati batas 1 hari kerja saat ini: 2; terlama menunggu sejak 22/02/2025 10.10 (rina)" in page
    out = write_summary_pdf(data, tmp_path / "ringkasan.pdf", chromium=chromium)
    pdf = out.read_bytes()
    assert pdf.startswith(b"%PDF") and len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == 1  # one A4 page
    assert re.search(rb"/MediaBox\s*\[\s*0 0 59[45]", pdf)  # A4: 595 x 842 pt


def test_xlsx_report_numbers_frozen_filtered_and_printable(demo_duckdb, tmp_path):
    wh = Warehouse(demo_duckdb)
    out = tmp_path / "r.xlsx"
    write_report(wh, demo_config(), "scorecard", "2025-Q1", "xlsx", out, template="sales_chat")
    wb = load_workbook(out)
    ws = wb["Durasi Balas"]
    assert (ws["B4"].value, ws["B4"].number_format) == (746.9, "#,##0.0")  # shown 746,9 in an Indonesian locale
    assert (ws["B7"].value, ws["C7"].value) == (91.3, "%")
    assert ws.freeze_panes == "A4" and ws.auto_filter.ref == "A3:E7"
    card = wb["Scorecard"]
    weights = [c.value for c in card["B"] if isinstance(c.value, (int, float))]
    assert weights[:6] == [20, 15, 15, 15, 20, 15]  # sales_chat team: numbers, not "20"
    frt_team = next(row for row in card.iter_rows() if isinstance(row[0].value, str) and row[0].value.endswith("(frt_new_customer)"))
    assert (frt_team[3].value, frt_team[3].number_format) == (44, '#,##0" menit"')  # "44 menit", a number in minutes
    frt = wb["Distribusi FRT"]
    assert frt["C4"].number_format == "#,##0.0" and abs(frt["C4"].value - 100 * 4 / 22) < 1e-9  # full precision kept
    assert frt.auto_filter.ref == "A3:C11"
    for sheet in wb:
        assert sheet.page_setup.orientation == "landscape" and sheet.page_setup.fitToWidth == 1, sheet.title
        assert sheet.sheet_properties.pageSetUpPr.fitToPage and sheet.freeze_panes, sheet.title
    texts = [c.value for sheet in wb for row in sheet.iter_rows() for c in row if isinstance(c.value, str)]
    assert not [v for v in texts if re.fullmatch(r"-?[\d.]+(,\d+)?( (%|detik|menit|jam))?", v)]  # no figure left as text


def test_indonesian_report_speaks_indonesian(demo_duckdb, tmp_path):
    wh = Warehouse(demo_duckdb)
    id_html = render_html(report_data(wh, demo_config(), "scorecard", "2025-Q1"))
    en_html = render_html(collect_report_data(wh, demo_config(), "2025-Q1", lang="en"))
    for english in ("no data", "not counted", "no sales report", "seed 00", " min<", "8 h+", "loaded"):
        assert english not in id_html, english
    assert "tanpa data: belum ada laporan penjualan (pesanan) yang dimuat" in id_html
    assert "tanpa data: belum ada sampel yang divalidasi (tidak ada thread agen ini dalam sampel audit)" in id_html
    assert "≥ 8 jam" in id_html and "0-5 menit" in id_html
    assert id_html.count('id="bases"') == 1 and "waktu kalender" in id_html
    assert "no data: no sales report (orders) loaded" in en_html and "8 h+" in en_html and "menit" not in en_html


def test_chart_axes_at_300k_and_below_one():
    from kpi_transforms.present.html import svg_bar_chart, svg_line_chart

    big = svg_bar_chart(["0-5 menit", "5-15 menit"], [300_000.0, 120_000.0], label="FRT", lang="id")
    labels = re.findall(r'text-anchor="end"[^>]*>([^<]*)</text>', big)
    assert labels == ["0", "125.000", "250.000", "375.000", "500.000"]
    left = float(re.search(r'<line x1="(\d+)"', big).group(1))
    assert left >= 10 + 7 * len("500.000")  # the widest label fits left of the plot (was cut to "00.000")
    small = svg_line_chart(["2025-01", "2025-02"], [1.7, 0.4], label="FRT", lang="id")
    assert re.findall(r'text-anchor="end"[^>]*>([^<]*)</text>', small) == ["0", "0,5", "1", "1,5", "2"]  # was 0, 1, 1, 2, 2


def test_aht_per_agent_section_once_the_kpi_is_stored(demo_duckdb):
    from kpi_transforms.pipeline.kpis import compute_period_kpis

    wh = Warehouse(demo_duckdb)
    assert 'id="aht"' not in render_html(collect_report_data(wh, demo_config(), "2025-Q1"))  # no KPI run yet: no section
    frame = compute_period_kpis(wh, demo_config(), "2025-Q1")
    html = render_html(collect_report_data(wh, demo_config(), "2025-Q1"))
    section = html[html.index('<section id="aht">'):]
    section = section[:section.index("</section>")]
    aht = frame[frame["kpi_code"] == "aht_avg"]
    assert section.count("<tr>") == 1 + len(aht)  # header + team + each agent
    team = aht[aht["agent_id"].isna()].iloc[0]
    assert pd.notna(team["value"]) and team["value"] > 0
    from kpi_transforms.present.scorecards import fmt_compact

    assert f'<td>Rata-rata waktu penanganan (AHT)</td><td>tim</td><td class="num">{fmt_compact(team["value"] / 60.0, "id", 1)}</td><td>menit</td>' in section


def test_every_reply_pair_kpi_figure_links_to_the_facts_it_counts(demo_duckdb):
    from kpi_transforms.metrics.catalogue import pair_basis
    from kpi_transforms.pipeline.reports import FACTS_SHOWN

    wh = Warehouse(demo_duckdb)
    data = report_data(wh, demo_config(), "scorecard", "2025-Q1")  # computes and stores the KPIs and scorecards
    html = render_html(data)
    stored = wh.read_df("select kpi_code, agent_id, basis_count from marts.fct_kpi where period_type = 'quarter'"
                        " and period_start = :s", {"s": data.period.start})
    basis_count = {(r.kpi_code, r.agent_id if isinstance(r.agent_id, str) else None): int(r.basis_count)
                   for r in stored.itertuples(index=False)}
    checked = set()
    for r in data.scorecards.rows.itertuples(index=False):
        if pair_basis(r.kpi_code) is None:
            assert data.fact_href(r.kpi_code, r.agent_id if isinstance(r.agent_id, str) else None) is None
            continue
        agent = r.agent_id if isinstance(r.agent_id, str) else None
        href = data.fact_href(r.kpi_code, agent)
        fl = data.fact_lists[href[1:]]
        assert fl.total == basis_count[(r.kpi_code, agent)], (r.kpi_code, agent)  # the list is the KPI's basis
        assert f'<a href="{href}">' in html and f'<article class="facts" id="{href[1:]}">' in html
        checked.add(r.kpi_code)
    assert "frt_avg" in checked  # the only reply-pair KPI of the shipped templates
    # seed 000's table: the average (and fastest / slowest) link to the valid pairs, the 1-working-day rate to the counted queues
    durations = html[html.index('<section id="reply-durations">'):html.index('<section id="charts">')]
    assert durations.count('<a href="#f-valid">') == 3 and durations.count('<a href="#f-counted_1wd">') == 1
    assert '<td class="num"><a href="#f-counted_1wd">91,3</a></td>' in durations
    assert data.fact_lists["f-counted_1wd"].total == 23  # "21 dari 23 antrian"
    team_valid = data.fact_lists["f-valid"]
    assert team_valid.total == 22 and len(team_valid.rows) == FACTS_SHOWN
    assert team_valid.bi_filter == ("select * from bi.v_reply_pairs where quarter_start = '2025-01-01' and is_valid"
                                    " order by question_at, pair_id")
    assert f"dan {22 - FACTS_SHOWN} lagi — query: {team_valid.bi_filter}".replace("'", "&#x27;") in html
    # the same keys reach the BI view: its filter returns exactly the listed pairs, then the rest
    for fl in (fl for fl in data.fact_lists.values() if fl.kind == "pair"):  # case and quote lists: their own tests
        bi = wh.read_df(fl.bi_filter)
        assert len(bi) == fl.total and list(bi["pair_id"][:len(fl.rows)]) == list(fl.rows["pair_id"]), fl.bi_filter
        assert list(bi["customer_key"][:len(fl.rows)]) == list(fl.rows["customer_key"])
        assert list(bi["business_seconds"][:len(fl.rows)].fillna(-1)) == list(fl.rows["business_seconds"].fillna(-1))
    # stored flags, not recomputed: the pairs' fact rows say the same
    facts = wh.read_df("select pair_id, is_valid, is_counted_1wd, is_counted_24h from marts.fct_reply_pair")
    merged = data.fact_lists["f-counted_1wd"].rows.merge(facts, on="pair_id", suffixes=("", "_fact"))
    assert len(merged) == len(data.fact_lists["f-counted_1wd"].rows) and merged["is_counted_1wd_fact"].all()
    # FRT per channel: every figure of a channel links to that channel's valid pairs
    channels = html[html.index('<section id="channels">'):html.index('<section id="complaints">')]
    assert '<td>whatsapp</td><td class="num"><a href="#f-valid-whatsapp">20</a></td>' in channels
    assert data.fact_lists["f-valid-whatsapp"].total == 20 and data.fact_lists["f-valid-email"].total == 2
    first = team_valid.rows.iloc[0]
    assert (first.pair_id, first.thread_id) == ("6e10ec76585c8f684a6236c94a5780a4", "wh_6a841d2b02c9481d")  # the quarter's first question
    assert f'<td>{first.reply_at_local:%d/%m/%Y %H.%M}</td><td class="num">1.140</td>' in html  # 09.12 → 09.31: 19 working minutes
    thread = (f'<a href="#t-{first.thread_id}">{first.thread_id}</a>' if f'id="t-{first.thread_id}"' in html
              else first.thread_id)  # a thread with a transcript in the appendix links to it
    assert (f'<tr><td>{first.pair_id}</td><td>{thread}</td><td>{first.question_at_local:%d/%m/%Y %H.%M}</td>'
            f'<td>{first.reply_at_local:%d/%m/%Y %H.%M}</td>') in html
    assert f'<td>Ya</td><td>Ya</td><td>Ya</td><td>{first.customer_key}</td></tr>' in html
    wh.dispose()


def test_fact_lists_follow_the_report_scope_and_language(demo_duckdb):
    wh = Warehouse(demo_duckdb)
    rina = collect_report_data(wh, demo_config(), "2025-Q1", agent_id="rina", lang="en")
    html = render_html(rina)
    # the channel table's SLA columns (issue 13/17) add each channel's SLA-counted queues, rina's too (docs/DECISIONS.md)
    assert set(rina.fact_lists) == {"f-valid--rina", "f-counted_1wd--rina", "f-valid-whatsapp--rina", "f-valid-email--rina",
                                    "f-counted_sla-whatsapp--rina", "f-counted_sla-email--rina"}
    assert rina.fact_lists["f-valid--rina"].total == 11  # rina's valid pairs of the quarter
    assert rina.fact_lists["f-valid--rina"].bi_filter.endswith("and is_valid and agent_id = 'rina' order by question_at, pair_id")
    assert "and 1 more — query: select * from bi.v_reply_pairs where quarter_start = &#x27;2025-01-01&#x27; and is_valid" in html
    assert '<a href="#f-valid--rina">' in html and 'id="f-valid"' not in html  # no team list in an agent's report
    month = collect_report_data(wh, demo_config(), "2025-02")
    assert month.fact_lists["f-valid"].bi_filter.startswith("select * from bi.v_reply_pairs where month_start = '2025-02-01' and is_valid")
    assert len(wh.read_df(month.fact_lists["f-valid"].bi_filter)) == month.fact_lists["f-valid"].total > 0
    wh.dispose()


def test_csat_per_issue_category_section(warehouse_url, tmp_path):
    """Seed 002's CSAT per issue category from the stored csat_rate_<category> KPIs (the
    csat_rate_rusak scenario: February has 2 rated rusak chats, one 5 and one 2 stars)."""
    from kpi_transforms.cli import main
    from kpi_transforms.core.config import load_config

    case = Path(__file__).resolve().parent / "kpi_scenarios" / "csat_rate_rusak"
    url = warehouse_url
    args = ["--config", str(case / "config.yaml"), "--warehouse", url]
    assert main([*args, "ingest", str(case / "tokopedia_detail_chat.csv"), "--lake", str(tmp_path / "lake")]) == 0
    wh = Warehouse(url)
    config = load_config(case / "config.yaml")
    assert 'id="csat"' not in render_html(collect_report_data(wh, config, "2025-02"))  # no KPI run yet: no section
    assert main([*args, "kpi", "--period", "2025-02"]) == 0
    data = collect_report_data(wh, config, "2025-02")
    html = render_html(data)
    section = html[html.index('<section id="csat">'):]
    section = section[:section.index("</section>")]
    assert re.findall(r"<tr><td>([^<]+)</td>", section) == ["barang kurang", "barang rusak", "salah kirim", "pengiriman telat",
                                                           "lainnya", "tanpa komplain"]
    # issue 17: the value and its count link to the ratings counted (bi.v_chat_ratings); a category without ratings links nowhere
    assert ('<td>barang rusak</td><td class="num"><a href="#f-rating_rusak">50</a></td>'
            '<td class="num"><a href="#f-rating_rusak">2</a></td><td></td>') in section
    assert ('<td>salah kirim</td><td class="num"><a href="#f-rating_salah_kirim">0</a></td>'
            '<td class="num"><a href="#f-rating_salah_kirim">1</a></td>') in section
    assert ('<td>tanpa komplain</td><td class="num"><a href="#f-rating_no_complaint">100</a></td>'
            '<td class="num"><a href="#f-rating_no_complaint">1</a></td>') in section
    assert ('<td>barang kurang</td><td class="num">—</td><td class="num">0</td>'
            '<td>tanpa data: tidak ada rating chat komplain kurang dalam periode ini</td>') in section
    bi = wh.read_df(data.csat_query)  # the BI view gives the same rows
    assert dict(zip(bi["kpi_code"], bi["value"].astype(float).fillna(-1))) == {
        "csat_rate_kurang": -1, "csat_rate_rusak": 50.0, "csat_rate_salah_kirim": 0.0, "csat_rate_telat": -1,
        "csat_rate_lainnya": -1, "csat_rate_no_complaint": 100.0}
    rina = collect_report_data(wh, config, "2025-02", agent_id="rina", lang="en")
    section = render_html(rina)
    section = section[section.index('<section id="csat">'):]
    assert "<h2>CSAT per issue category</h2>" in section and ('<td>damaged</td><td class="num"><a href="#f-rating_rusak--rina">100</a></td>'
                                                              '<td class="num"><a href="#f-rating_rusak--rina">1</a></td>') in section
    assert rina.csat_query.endswith("and agent_id = 'rina'")
    wh.dispose()


def test_indonesian_report_shows_labels_for_templates_and_kpi_codes(demo_duckdb):
    from kpi_transforms.metrics.catalogue import KPI_CODES, kpi_label, template_label
    from kpi_transforms.metrics.scorecards import load_templates

    # every catalogue code and shipped template has a label in both languages, defined once in the catalogue
    assert [c for c in KPI_CODES if kpi_label(c, "id") == c or kpi_label(c, "en") == c] == []
    assert [n for n in load_templates() if template_label(n, "id") == n] == []
    assert kpi_label("frt_p90_whatsapp") == "P90 FRT (jam kerja) — WhatsApp"
    assert kpi_label("csat_rate_salah_kirim", "en") == "CSAT (% rated 4–5) — wrong item sent"
    assert kpi_label("aht_avg_quote_request") == "Rata-rata waktu penanganan (AHT) — permintaan penawaran"
    assert kpi_label("my_custom_kpi") == "my_custom_kpi"
    wh = Warehouse(demo_duckdb)
    data = report_data(wh, demo_config(), "scorecard", "2025-Q1")
    id_html = render_html(data)
    summary = id_html[id_html.index('<section id="scorecard">'):id_html.index("<details")]
    names = re.findall(r"<tr><td>([^<]+)</td><td>seluruh tim</td>", summary)
    assert sorted(names) == ["Chat penjualan (sales_chat)",
                             "Customer Relations Officer &amp; Order Coordinator (customer_relations_officer)",
                             "Layanan seimbang (kecepatan, kualitas, efisiensi) (balanced_service)"]
    assert "<h3>Layanan seimbang (kecepatan, kualitas, efisiensi) — seluruh tim</h3>" in id_html
    assert "<h3>sales_chat" not in id_html
    # the "without data" line names KPIs by label; a template line without its own label takes the catalogue's
    assert "Tanpa data: Konversi follow-up customer baru" in id_html
    en_html = render_html(collect_report_data(wh, demo_config(), "2025-Q1", lang="en"))
    assert "<h3>Sales chat — whole team</h3>" in en_html and "Without data: Follow-up conversion, new customers" in en_html
    wh.dispose()


def test_pair_basis_of_reply_pair_kpi_codes():
    from kpi_transforms.metrics.catalogue import KPI_CODES, pair_basis

    assert pair_basis("reply_duration_avg") == ("valid", None) and pair_basis("frt_total_p90") == ("valid", None)
    assert pair_basis("response_rate_1wd") == ("counted_1wd", None)
    assert pair_basis("response_rate_24h_marketplace") == ("counted_24h", "marketplace")
    assert pair_basis("frt_median_email") == ("valid", "email")
    # not reply-pair KPIs: no list of pairs is claimed for them
    for code in ("chat_volume_whatsapp", "csat_rate_rusak", "cost_per_contact"):  # aht_avg has one since issue 13/17
        assert pair_basis(code) is None, code
    # the new-customer FRT: valid first queues of threads with the stored is_new_customer flag
    assert pair_basis("frt_new_customer") == ("new_customer", None)
    assert pair_basis("frt_new_customer_p90_whatsapp") == ("new_customer", "whatsapp")
    # complaint KPIs: the marts.fct_case rows they count
    assert pair_basis("complaint_response_p90_email") == ("case_response", "email")
    assert pair_basis("complaint_resolution_avg") == ("case_resolution", None)
    assert pair_basis("repeat_complaint_rate") == ("case_opened", None)
    assert pair_basis("quote_response_median_whatsapp") == ("quote_response", "whatsapp")
    # RESPONSE_CODES, frt_new_customer*, complaint_response / _resolution_* and quote_response_*, alone and per
    # channel (4), and repeat_complaint_rate
    # issue 13/17: the stored conversations (marts.fct_conversation) and the SLA flag of the queues
    assert pair_basis("aht_p90") == ("conv_resolved", None) and pair_basis("art_avg") == ("conv_resolved", None)
    assert pair_basis("aht_avg_other") == ("conv_resolved_other", None)  # an intent, not the channel "other"
    assert pair_basis("fcr_rate_email") == ("conv_fcr", "email") and pair_basis("abandonment_rate") == ("conv_decided", None)
    assert pair_basis("sla_compliance_rate_whatsapp") == ("counted_sla", "whatsapp")
    # ... plus aht_* / art_* (6), aht_avg_<intent> (4), fcr_rate and sla_compliance_rate alone and per channel (5 + 5),
    # abandonment_rate
    assert sum(pair_basis(c) is not None for c in KPI_CODES) == (11 + 3 + 6 + 3) * 5 + 1 + 6 + 4 + 5 + 5 + 1


def test_new_customer_frt_links_to_the_first_queues_it_counts(demo_duckdb):
    wh = Warehouse(demo_duckdb)
    data = report_data(wh, demo_config(), "scorecard", "2025-Q1")  # computes and stores the KPIs and scorecards
    html = render_html(data)
    stored = wh.read_df("select kpi_code, basis_count from marts.fct_kpi where period_type = 'quarter'"
                        " and period_start = :s and agent_id is null and kpi_code = 'frt_new_customer'", {"s": data.period.start})
    href = data.fact_href("frt_new_customer", None)
    assert href == "#f-new_customer"
    fl = data.fact_lists[href[1:]]
    assert fl.total == int(stored["basis_count"].iloc[0]) > 0  # the list is the KPI's basis
    assert f'<a href="{href}">' in html and f'<article class="facts" id="{href[1:]}">' in html
    bi = wh.read_df(fl.bi_filter)
    assert len(bi) == fl.total and list(bi["pair_id"][:len(fl.rows)]) == list(fl.rows["pair_id"])
    # stored flag, not recomputed: every listed pair's thread is a new customer's
    threads = wh.read_df("select thread_id, is_new_customer from marts.fct_thread")
    merged = bi.merge(threads, on="thread_id")
    assert len(merged) == fl.total and merged["is_new_customer"].astype(bool).all() and bi["is_valid"].astype(bool).all()
    assert bi["thread_id"].is_unique  # one first queue per thread
    wh.dispose()


def test_complaint_kpis_link_to_the_cases_they_count(demo_duckdb):
    wh = Warehouse(demo_duckdb)
    data = report_data(wh, demo_config(), "scorecard", "2025-Q1")  # sales_chat carries the complaint KPIs
    html = render_html(data)
    stored = wh.read_df("select kpi_code, basis_count from marts.fct_kpi where period_type = 'quarter'"
                        " and period_start = :s and agent_id is null", {"s": data.period.start})
    basis_count = dict(zip(stored["kpi_code"], stored["basis_count"].astype(int)))
    cases = wh.read_df("select case_id, status, first_response_at, is_in_closed_period from marts.fct_case"
                       " where opened_at_local >= '2025-01-01' and opened_at_local < '2025-04-01'")
    assert len(cases) > 0
    for code, anchor in (("complaint_response_avg", "f-case_response"), ("complaint_resolution_avg", "f-case_resolution"),
                         ("repeat_complaint_rate", "f-case_opened")):
        assert data.fact_href(code, None) == "#" + anchor, code
        fl = data.fact_lists[anchor]
        assert fl.kind == "case" and fl.total == basis_count[code], code  # the list is the KPI's basis
        assert f'<a href="#{anchor}">' in html and f'<article class="facts" id="{anchor}">' in html
        full = wh.read_df(fl.bi_filter)  # the printed query returns the listed cases first, then the rest
        assert len(full) == fl.total and list(full["case_id"][:len(fl.rows)]) == list(fl.rows["case_id"])
    assert data.fact_lists["f-case_opened"].total == len(cases)
    resolved = data.fact_lists["f-case_resolution"]
    assert set(wh.read_df(resolved.bi_filter)["status"]) <= {"resolved"}  # the stored status, not recomputed
    wh.dispose()


def test_quote_response_links_to_the_quote_requests_it_counts(demo_duckdb):
    wh = Warehouse(demo_duckdb)
    data = report_data(wh, demo_config(), "scorecard", "2025-Q1")  # sales_chat carries quote_response_avg
    html = render_html(data)
    stored = wh.read_df("select basis_count from marts.fct_kpi where period_type = 'quarter' and period_start = :s"
                        " and agent_id is null and kpi_code = 'quote_response_avg'", {"s": data.period.start})
    assert data.fact_href("quote_response_avg", None) == "#f-quote_response"
    fl = data.fact_lists["f-quote_response"]
    assert fl.kind == "quote" and fl.total == int(stored["basis_count"].iloc[0]) > 0  # the list is the KPI's basis
    assert '<a href="#f-quote_response">' in html and '<article class="facts" id="f-quote_response">' in html
    full = wh.read_df(fl.bi_filter)  # the printed query returns the listed requests first, then the rest
    assert len(full) == fl.total and list(full["pair_id"][:len(fl.rows)]) == list(fl.rows["pair_id"])
    assert full["quote_at"].notna().all() and not full["is_in_closed_period"].fillna(False).astype(bool).any()  # stored columns
    wh.dispose()


def test_conversation_and_sla_kpis_link_to_the_facts_they_count(demo_duckdb):
    """Issue 13/17: AHT, ART, FCR and SLA compliance (balanced_service) link to the stored
    marts.fct_conversation / fct_reply_pair rows they count; the lists' totals are the KPIs'
    basis_count, per agent and per channel, and the printed BI query returns the same rows."""
    wh = Warehouse(demo_duckdb)
    data = report_data(wh, demo_config(), "scorecard", "2025-Q1")
    html = render_html(data)
    stored = wh.read_df("select kpi_code, agent_id, basis_count from marts.fct_kpi where period_type = 'quarter'"
                        " and period_start = :s", {"s": data.period.start})
    basis_count = {(r.kpi_code, r.agent_id if isinstance(r.agent_id, str) else None): int(r.basis_count)
                   for r in stored.itertuples(index=False)}
    checked = collections.Counter()
    for r in data.scorecards.rows.itertuples(index=False):
        if r.kpi_code not in ("aht_avg", "art_avg", "fcr_rate", "sla_compliance_rate"):
            continue
        agent = r.agent_id if isinstance(r.agent_id, str) else None
        href = data.fact_href(r.kpi_code, agent)
        assert href is not None, (r.kpi_code, agent)
        fl = data.fact_lists[href[1:]]
        assert fl.total == basis_count[(r.kpi_code, agent)], (r.kpi_code, agent)  # the list is the KPI's basis
        assert f'<a href="{href}">' in html and f'<article class="facts" id="{href[1:]}">' in html
        full = wh.read_df(fl.bi_filter)  # the printed BI query returns the listed rows first, then the rest
        key = "pair_id" if fl.kind == "pair" else "conversation_id"
        assert len(full) == fl.total and list(full[key][:len(fl.rows)]) == list(fl.rows[key]), fl.bi_filter
        checked[r.kpi_code] += 1
    assert set(checked) == {"aht_avg", "art_avg", "fcr_rate", "sla_compliance_rate"} and min(checked.values()) >= 2  # team + agents
    team = data.fact_lists["f-conv_resolved"]
    assert team.kind == "conversation" and team.total == basis_count[("aht_avg", None)] > 0
    assert team.bi_filter.startswith("select c.conversation_id, c.thread_id, c.started_at_local")
    assert "from bi.v_conversations c where c.started_at_local >= '2025-01-01' and c.started_at_local < '2025-04-01'" \
           " and c.status = 'resolved' order by c.started_at_local, c.conversation_id" in team.bi_filter
    assert set(wh.read_df(team.bi_filter)["status"]) == {"resolved"}  # the stored status, not recomputed
    fcr = data.fact_lists["f-conv_fcr"]
    assert wh.read_df(fcr.bi_filter)["is_fcr"].notna().all()
    # the AHT section's counts link to the same resolved conversations
    data_aht = data.aht[data.aht["agent_id"].isna()].iloc[0]
    assert f'<a href="#f-conv_resolved">{int(data_aht.basis_count)}</a>' in html[html.index('<section id="aht">'):]
    # SLA per channel: the channel table's SLA figures link to the channel's counted queues
    channels = html[html.index('<section id="channels">'):html.index('<section id="complaints">')]
    for ch in ("whatsapp", "email"):
        fl = data.fact_lists[f"f-counted_sla-{ch}"]
        assert fl.total == basis_count[(f"sla_compliance_rate_{ch}", None)] > 0, ch
        assert f'<a href="#f-counted_sla-{ch}">{fl.total}</a>' in channels
        bi = wh.read_df(fl.bi_filter)
        assert len(bi) == fl.total and bi["is_within_sla"].notna().all() and set(bi["channel"]) == {ch}
        value = stored[(stored["kpi_code"] == f"sla_compliance_rate_{ch}") & stored["agent_id"].isna()]
        hits = int(bi["is_within_sla"].astype(bool).sum())
        kpi = wh.scalar("select value from marts.fct_kpi where kpi_code = :c and agent_id is null and period_type = 'quarter'"
                        " and period_start = :s", {"c": f"sla_compliance_rate_{ch}", "s": data.period.start})
        assert len(value) == 1 and abs(100.0 * hits / fl.total - float(kpi)) < 1e-9  # the list's hits are the KPI's
    wh.dispose()


def test_csat_kpis_link_to_the_ratings_they_count(warehouse_url, tmp_path):
    """Issue 17: csat_rate (the balanced_service scorecard) and csat_rate_<category> (the CSAT
    section) link to the chat ratings they count, listed from bi.v_chat_ratings (V025), the view
    the KPI step reads its ratings from: each list's total is the stored KPI's basis_count, for the
    team and per agent, and the printed BI query returns the same rows (csat_rate_rusak scenario)."""
    from kpi_transforms.cli import main
    from kpi_transforms.core.config import load_config

    case = Path(__file__).resolve().parent / "kpi_scenarios" / "csat_rate_rusak"
    args = ["--config", str(case / "config.yaml"), "--warehouse", warehouse_url]
    assert main([*args, "ingest", str(case / "tokopedia_detail_chat.csv"), "--lake", str(tmp_path / "lake")]) == 0
    assert main([*args, "kpi", "--period", "2025-02"]) == 0
    wh, config = Warehouse(warehouse_url), load_config(case / "config.yaml")
    stored = wh.read_df("select kpi_code, agent_id, basis_count from marts.fct_kpi where period_type = 'month'"
                        " and period_start = '2025-02-01' and kpi_code like 'csat_rate%'")
    basis_count = {(r.kpi_code, r.agent_id if isinstance(r.agent_id, str) else None): int(r.basis_count)
                   for r in stored.itertuples(index=False)}
    assert basis_count[("csat_rate", None)] == 4 and basis_count[("csat_rate_rusak", None)] == 2
    data = report_data(wh, config, "scorecard", "2025-02", template="balanced_service")
    html = render_html(data)
    checked = 0
    for r in data.scorecards.rows.itertuples(index=False):  # the scorecard's csat_rate, team and each agent
        if r.kpi_code != "csat_rate":
            continue
        agent = r.agent_id if isinstance(r.agent_id, str) else None
        href = data.fact_href("csat_rate", agent)
        assert href == "#f-rating" + (f"--{agent}" if agent else ""), agent
        fl = data.fact_lists[href[1:]]
        assert fl.kind == "rating" and fl.total == basis_count[("csat_rate", agent)] > 0, agent
        assert f'<a href="{href}">' in html and f'<article class="facts" id="{href[1:]}">' in html
        full = wh.read_df(fl.bi_filter)  # the printed BI query returns the listed ratings
        assert len(full) == fl.total and list(full["rating_id"]) == list(fl.rows["rating_id"]), fl.bi_filter
        checked += 1
    assert checked == 3  # team, lia, rina
    team = data.fact_lists["f-rating"]
    assert sorted(team.rows["stars"].astype(int)) == [2, 3, 4, 5]
    assert team.rows["customer_key"].str.fullmatch(r"[0-9a-f]{16}").all()  # masked as in every bi view
    assert "from bi.v_chat_ratings r where r.rated_at_local >= '2025-02-01' and r.rated_at_local < '2025-03-01'" in team.bi_filter
    for scope in (None, "lia", "rina"):  # the CSAT-per-category figures, team and per agent
        scoped = data if scope is None else collect_report_data(wh, config, "2025-02", agent_id=scope)
        section = render_html(scoped)
        section = section[section.index('<section id="csat">'):]
        section = section[:section.index("</section>")]
        for category in ("kurang", "rusak", "salah_kirim", "telat", "lainnya", "no_complaint"):
            n = basis_count[(f"csat_rate_{category}", scope)]
            anchor = fact_anchor(f"rating_{category}", scope, None)
            if n == 0:  # no rating counted: no list, no link
                assert anchor not in scoped.fact_lists and scoped.fact_href(f"csat_rate_{category}", None) is None
                continue
            fl = scoped.fact_lists[anchor]
            assert fl.total == n, (scope, category)  # the list is the KPI's basis
            full = wh.read_df(fl.bi_filter)
            assert list(full["rating_id"]) == list(fl.rows["rating_id"]) and len(full) == n, fl.bi_filter
            assert (full["category"].isna().all() if category == "no_complaint" else set(full["category"]) <= {category})
            assert f'<a href="#{anchor}">{n}</a>' in section, (scope, category)
    rusak = data.fact_lists["f-rating_rusak"]
    assert sorted(rusak.rows["stars"].astype(int)) == [3, 5]
    wh.dispose()
