"""``chatkpi demo``: the main job on the bundled sample data, in an embedded DuckDB warehouse.

Two landing drops are ingested as two batches, the way the daily run meets them: March's
exports (WhatsApp Android Indonesian and iOS English in a zip, plus a CRM e-mail file with one
broken row), then April's cumulative re-export of one chat, which adds only its new messages.
Re-running the demo is safe: files already processed are skipped by content hash.
"""

from __future__ import annotations

from pathlib import Path

from kpi_transforms.cli import _print_ingest
from kpi_transforms.config import load_config
from kpi_transforms.ingest import ingest_paths
from kpi_transforms.reports import reply_duration_report
from kpi_transforms.warehouse import Warehouse

DATA = Path(__file__).resolve().parent / "demo_data"


def run_demo(workdir: str | Path = ".") -> int:
    work = Path(workdir).resolve()
    config = load_config(DATA / "chatkpi.yaml")
    warehouse = Warehouse(f"duckdb:///{work / 'warehouse' / 'chatkpi.duckdb'}")
    print(f"chatkpi demo: warehouse {work / 'warehouse' / 'chatkpi.duckdb'}, lake {work / 'lake'}\n")
    for drop in sorted((DATA / "landing").iterdir()):
        print(f"== ingest {drop.relative_to(DATA)}")
        report = ingest_paths([drop], config, warehouse, lake_dir=work / "lake")
        _print_ingest(report)
        print()

    summary = warehouse.read_df(
        "select channel, sender_role, count(*) as messages, count(distinct thread_id) as threads"
        " from marts.fct_message group by channel, sender_role order by channel, sender_role"
    )
    print("== marts.fct_message")
    print(summary.to_string(index=False))
    totals = warehouse.read_df(
        "select (select count(*) from marts.fct_message) as messages,"
        " (select count(*) from marts.fct_thread) as threads,"
        " (select count(*) from marts.fct_reply_pair) as reply_pairs,"
        " (select count(*) from audit.rejected_row) as quarantined_rows,"
        " (select count(*) from audit.rejected_file) as rejected_files"
    )
    print()
    print(totals.to_string(index=False))
    print()
    print(reply_duration_report(warehouse, config, "2025-Q1"))
    print()
    print(reply_duration_report(warehouse, config, "2025-Q1", agent_id="lia", fmt="md"))
    return 0
