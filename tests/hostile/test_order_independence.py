"""Issue 15 item 4: the tables do not depend on the order or batching of the files. A chat
loaded under the default (day-first) reading of its ambiguous dates is read again when a later
export of the same chat settles month-first; files in one batch give the same provenance in any
order. The property test loads random subsets of cumulative exports in random batchings."""

from __future__ import annotations

import random
import shutil
import uuid
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kpi_transforms.core.config import parse_config
from kpi_transforms.pipeline.ingest import ingest_paths
from kpi_transforms.warehouse.engine import Warehouse

CONFIG = parse_config({"agents": [{"id": "lia", "names": ["Lia Sales"]}]})
NAME = "Chat WhatsApp dengan Pak Budi.txt"


def _day(month: int, day: int, who: str, n: int) -> list[str]:
    """A question and its answer on month/day, written month-first (MM/DD/YY)."""
    return [f"{month:02d}/{day:02d}/25 09.{n:02d} - {who}: pesan {n} tanggal {month}/{day}",
            f"{month:02d}/{day:02d}/25 10.{n:02d} - Lia Sales: balasan {n}"]


# Cumulative exports of one chat, all month-first. E1 and E2 are ambiguous (every day <= 12),
# E3 settles the order (02/14); OTHER is another chat, decided day-first.
E1 = [line for i, (m, d) in enumerate([(2, 3), (2, 5), (3, 2)]) for line in _day(m, d, "Pak Budi", i)]
E2 = E1 + [line for i, (m, d) in enumerate([(3, 4), (4, 1)], start=3) for line in _day(m, d, "Pak Budi", i)]
E3 = E2 + _day(2, 14, "Pak Budi", 5) + _day(4, 10, "Pak Budi", 6)
OTHER = ["25/03/25 09.00 - Bu Sari: ada stok?", "25/03/25 09.30 - Lia Sales: ada kak"]
EXPORTS = {"e1": E1, "e2": E2, "e3": E3, "other": OTHER}


def _write(folder: Path, key: str) -> Path:
    target = folder / key
    target.mkdir(parents=True, exist_ok=True)
    name = "Chat WhatsApp dengan Bu Sari.txt" if key == "other" else NAME
    (target / name).write_text("\n".join(EXPORTS[key]) + "\n", encoding="utf-8")
    return target


def tables(wh: Warehouse, provenance: bool = False) -> dict[str, pd.DataFrame]:
    cols = "message_id, thread_id, sent_at, sent_at_local, sender_role, agent_id, text"
    if provenance:
        cols += ", source_line"
    out = {
        "messages": wh.read_df(f"select {cols} from marts.fct_message order by message_id"),
        "pairs": wh.read_df("select * from marts.fct_reply_pair order by pair_id"),
        "threads": wh.read_df("select * from marts.fct_thread order by thread_id"),
    }
    return {k: v.reset_index(drop=True) for k, v in out.items()}


def _normal(frame: pd.DataFrame) -> pd.DataFrame:
    """Values as text, nulls as None: DuckDB and PostgreSQL type an all-null column differently."""
    return frame.astype(object).where(frame.notna(), None).map(lambda v: None if v is None else str(v))


def _assert_same(a: dict, b: dict) -> None:
    for key in a:
        pd.testing.assert_frame_equal(_normal(a[key]), _normal(b[key]), obj=key)


def _load(url: str, tmp: Path, batches: list[list[str]]) -> dict[str, pd.DataFrame]:
    wh = Warehouse(url)
    try:
        for i, batch in enumerate(batches):
            ingest_paths([_write(tmp / f"b{i}", key) for key in batch], CONFIG, wh, lake_dir=tmp / "lake")
        return tables(wh)
    finally:
        wh.dispose()


def test_later_export_settles_an_earlier_file(tmp_path, warehouse_url, duckdb_url):
    """The issue's reproduction: A in one batch, then its cumulative re-export B."""
    wh = Warehouse(warehouse_url)
    try:
        ingest_paths([_write(tmp_path / "b0", "e2")], CONFIG, wh, lake_dir=tmp_path / "lake")
        assert wh.scalar("select count(*) from marts.fct_message") == len(E2)
        ingest_paths([_write(tmp_path / "b1", "e3")], CONFIG, wh, lake_dir=tmp_path / "lake")
        assert wh.scalar("select count(*) from marts.fct_message") == len(E3)  # not E2 stored twice
        feb3 = wh.read_df("select source_file, source_line from marts.fct_message where text = 'pesan 0 tanggal 2/3'")
        assert len(feb3) == 1 and str(feb3["source_file"].iloc[0]).endswith(f"b0/e2/{NAME}")
        local = wh.scalar("select sent_at_local from marts.fct_message where text = 'pesan 0 tanggal 2/3'")
        assert pd.Timestamp(local) == pd.Timestamp("2025-02-03 09:00")
        manifest = wh.read_df("select date_order, date_order_source from audit.file_manifest order by file_seq")
        assert manifest["date_order"].tolist() == ["mdy", "mdy"]
        stepwise = tables(wh)
    finally:
        wh.dispose()
    at_once = _load(duckdb_url, tmp_path / "once", [["e2", "e3"]])
    _assert_same(stepwise, at_once)
    assert len(at_once["pairs"]) == len(E3) // 2


def test_same_batch_in_any_order_keeps_the_same_provenance(tmp_path):
    folders = [_write(tmp_path / "in", key) for key in ("e1", "e2", "e3")]
    got = []
    for order in (folders, folders[::-1]):
        wh = Warehouse(f"duckdb:///{tmp_path / uuid.uuid4().hex}.duckdb")
        ingest_paths(order, CONFIG, wh, lake_dir=tmp_path / "lake")
        got.append(wh.read_df("select message_id, source_file, source_line from marts.fct_message order by message_id"))
        wh.dispose()
    pd.testing.assert_frame_equal(got[0], got[1])


@settings(max_examples=8, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_random_subsets_batchings_and_orders_give_the_same_tables(tmp_path, data):
    keys = data.draw(st.lists(st.sampled_from(sorted(EXPORTS)), min_size=1, max_size=4, unique=True), label="subset")
    shuffled = data.draw(st.permutations(keys), label="order")
    cuts = sorted(data.draw(st.sets(st.integers(1, max(1, len(keys) - 1)), max_size=len(keys) - 1), label="cuts")) if len(keys) > 1 else []
    batches, start = [], 0
    for cut in [*cuts, len(shuffled)]:
        if cut > start:
            batches.append(list(shuffled[start:cut]))
            start = cut
    run = tmp_path / uuid.uuid4().hex
    stepwise = _load(f"duckdb:///{run}/a.duckdb", run / "a", batches)
    at_once = _load(f"duckdb:///{run}/b.duckdb", run / "b", [sorted(keys)])
    _assert_same(stepwise, at_once)
    shutil.rmtree(run, ignore_errors=True)
