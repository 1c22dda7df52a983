"""Property tests of ingestion (hypothesis, DuckDB only, small example counts).

* Any permutation and repetition of a small set of exports (including a cumulative re-export),
  split into any batches, gives the same ``marts.fct_message`` and ``marts.fct_reply_pair``.
* Every input line is accounted for: for each WhatsApp file, ``lines_read = header_lines +
  continuation_lines + quarantined_lines``, every quarantined line has its ``audit.rejected_row``
  and every message its ``marts.fct_message`` row.

That the WhatsApp parser never raises anything but ``RejectedFile`` on arbitrary text is already
a property test in tests/parsers/test_whatsapp_unit.py (not repeated here).
"""

from __future__ import annotations

import itertools
import shutil
import tempfile
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kpi_transforms.core.config import parse_config
from kpi_transforms.pipeline.ingest import ingest_paths
from kpi_transforms.warehouse.engine import Warehouse

CONFIG = parse_config({"agents": [{"id": "lia", "names": ["Lia Sales"]}], "auto_reply_patterns": ["^Terima kasih telah menghubungi"]})

ANDI_1 = [
    "13/01/25 09.00 - Andi: Halo kak, harga mug polos berapa?",
    "13/01/25 09.00 - Lia Sales: Terima kasih telah menghubungi Toko Kita",
    "13/01/25 09.01 - Andi: yang 300 ml",
    "warna putih",
    "13/01/25 09.30 - Lia Sales: Rp 25.000 kak",
    "13/01/25 09.31 - Andi: <Media tidak disertakan>",
    "13/01/25 16.59 - Andi: kalau 100 pcs?",
    "14/01/25 08.05 - Lia Sales: Bisa Rp 22.000 kak",
    "14/01/25 08.05 - Andi: oke",
]
ANDI_2 = ANDI_1 + [  # cumulative re-export: the old lines plus new ones, one in the same minute
    "14/01/25 08.05 - Andi: saya transfer sekarang",
    "15/01/25 10.00 - Lia Sales: Sudah diterima, terima kasih",
    "18/01/25 20.00 - Andi: barang belum sampai kak",
]
SARI = [
    "[16/01/25 10.00.00] Sari: Permisi, ada tumbler 500 ml?",
    "[16/01/25 10.00.30] Sari: yang stainless",
    "[16/01/25 13.15.00] Lia Sales: Ada kak, Rp 60.000",
    "[17/01/25 09.00.00] Sari: Pesan 2",
]
CRM = (
    "thread,sent_at,sender_name,sender_role,text,channel\n"
    "pembeli@contoh.id,2025-01-20T09:00:00+07:00,pembeli@contoh.id,customer,Minta katalog,email\n"
    "pembeli@contoh.id,2025-01-20T11:00:00+07:00,Lia Sales,agent,Terlampir katalog,email\n"
    "Budi,2025-01-21 08:00:00,Budi,customer,Stok kaos?,other\n"
)
MESSAGE_KEY = ["message_id", "thread_id", "thread_name", "channel", "sent_at", "sent_at_local", "sender_name",
               "sender_role", "agent_id", "customer_id", "is_auto_reply", "message_type", "text"]


@pytest.fixture(scope="module")
def exports(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("exports")
    files = {}
    for key, folder, name, content in (
        ("andi-1", "drop1", "Chat WhatsApp dengan Andi.txt", "\n".join(ANDI_1) + "\n"),
        ("andi-2", "drop2", "Chat WhatsApp dengan Andi.txt", "\n".join(ANDI_2) + "\n"),
        ("sari", "drop1", "WhatsApp Chat with Sari.txt", "\n".join(SARI) + "\n"),
        ("crm", "drop2", "crm.csv", CRM),
    ):
        path = root / folder / name
        path.parent.mkdir(exist_ok=True)
        path.write_text(content, encoding="utf-8")
        files[key] = path
    return files


def contents(url: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    wh = Warehouse(url)
    messages = wh.read_df("select * from marts.fct_message")[MESSAGE_KEY]
    messages = messages.astype(str).sort_values("message_id").reset_index(drop=True)
    pairs = wh.read_df("select * from marts.fct_reply_pair").astype(str).sort_values("pair_id").reset_index(drop=True)
    return messages, pairs


@pytest.fixture(scope="module")
def empty_warehouse(tmp_path_factory) -> Path:
    """A DuckDB file with every migration applied, copied for each example (saves the DDL)."""
    path = tmp_path_factory.mktemp("template") / "empty.duckdb"
    wh = Warehouse(f"duckdb:///{path}")
    wh.init()
    wh.dispose()
    return path


@pytest.fixture(scope="module")
def reference(exports, empty_warehouse, tmp_path_factory):
    """Everything in one batch, in file order."""
    folder = tmp_path_factory.mktemp("reference")
    shutil.copy(empty_warehouse, folder / "w.duckdb")
    url = f"duckdb:///{folder / 'w.duckdb'}"
    report = ingest_paths([exports[k] for k in ("andi-1", "andi-2", "sari", "crm")], CONFIG, Warehouse(url), lake_dir=folder / "lake")
    assert report.count("loaded") == 4 and report.messages_new == 8 + 3 + 4 + 3
    messages, pairs = contents(url)
    assert len(messages) == 18 and len(pairs) >= 6
    return messages, pairs


@st.composite
def plans(draw) -> list[list[str]]:
    """Batches of export keys: every export at least once, some repeated, any order."""
    keys = ["andi-1", "andi-2", "sari", "crm"]
    sequence = list(draw(st.permutations(keys)))
    for extra in draw(st.lists(st.sampled_from(keys), max_size=2)):
        sequence.insert(draw(st.integers(0, len(sequence))), extra)
    cuts = sorted(draw(st.sets(st.integers(1, len(sequence) - 1), max_size=2)))
    return [sequence[a:b] for a, b in itertools.pairwise([0, *cuts, len(sequence)])]


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plan=plans())
def test_any_order_and_repetition_gives_the_same_facts(exports, empty_warehouse, reference, plan):
    with tempfile.TemporaryDirectory() as work:
        shutil.copy(empty_warehouse, Path(work) / "w.duckdb")
        url = f"duckdb:///{Path(work) / 'w.duckdb'}"
        wh = Warehouse(url)
        for batch in plan:
            ingest_paths([exports[k] for k in batch], CONFIG, wh, lake_dir=Path(work) / "lake")
        messages, pairs = contents(url)
        wh.dispose()
    pd.testing.assert_frame_equal(messages, reference[0], obj=f"fct_message after {plan}")
    pd.testing.assert_frame_equal(pairs, reference[1], obj=f"fct_reply_pair after {plan}")


# -- every line accounted for ------------------------------------------------------------------

_text = st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), max_size=25)
_header = st.builds(
    lambda d, h, m, who, text: f"{d:02d}/03/25 {h:02d}.{m:02d} - {who}: {text}",
    st.integers(13, 28), st.integers(0, 23), st.integers(0, 59), st.sampled_from(["Andi", "Lia Sales", "~ Toko"]), _text,
)
_line = st.one_of(
    _header, _header, _header,
    _text,  # a continuation (or text before the first header)
    st.just(""),
    st.builds(lambda t: f"31/02/25 10.00 - Andi: {t}", _text),  # impossible date
    st.builds(lambda t: f"14/03/99 10.00 - Andi: {t}", _text),  # 2099: after ingest time + 1 day
    st.builds(lambda t: f"14/03/00 10.00 - Andi: {t}", _text),  # 2000: before 2009
)


@pytest.fixture(scope="module")
def line_warehouse(tmp_path_factory):
    folder = tmp_path_factory.mktemp("lines")
    return Warehouse(f"duckdb:///{folder / 'w.duckdb'}"), folder, itertools.count()


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(_line, min_size=1, max_size=14))
def test_every_input_line_is_accounted_for(line_warehouse, lines):
    wh, folder, counter = line_warehouse
    n = next(counter)
    path = folder / f"drop{n}" / f"Chat WhatsApp dengan Acak {n}.txt"
    path.parent.mkdir()
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    (result,) = ingest_paths([path], CONFIG, wh, lake_dir=folder / "lake", rebuild=False).files
    if result.status == "skipped":  # an earlier example had the same content (the warehouse is shared)
        seen = "select count(*) from (select file_sha256 from audit.file_manifest union all select file_sha256 from audit.rejected_file) where file_sha256 = :s"
        assert wh.scalar(seen, {"s": result.sha256}) == 1
        return
    if result.status == "rejected":  # no usable header line at all
        assert result.reason and wh.scalar("select count(*) from audit.rejected_file where file_sha256 = :s", {"s": result.sha256}) == 1
        return
    assert result.status == "loaded"
    row = wh.read_df("select * from audit.file_manifest where file_sha256 = :s", {"s": result.sha256}).iloc[0]
    assert row["lines_read"] == len(lines)
    assert row["lines_read"] == row["header_lines"] + row["continuation_lines"] + row["quarantined_lines"]
    assert row["messages_read"] == row["header_lines"] == row["messages_new"]
    quarantined = wh.scalar("select count(*) from audit.rejected_row where file_sha256 = :s", {"s": result.sha256})
    assert quarantined == row["quarantined_lines"]
    loaded = wh.scalar("select count(*) from marts.fct_message where thread_id = :t", {"t": result.thread_id})
    assert loaded == row["messages_read"]
