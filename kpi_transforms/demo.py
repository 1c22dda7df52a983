"""``chatkpi demo``: the main job on the bundled sample data, in an embedded DuckDB warehouse.

The pipeline runs through the Airflow DAGs (``dag.test()`` in a throwaway Airflow with SQLite
metadata under ``<workdir>/.airflow_home``): the daily DAG once per landing drop — March's
exports (WhatsApp Android Indonesian and iOS English in a zip, plus a CRM e-mail file with one
broken row), then April's cumulative re-export of one chat, which adds only its new messages —
and the quarterly DAG for 2025-Q1. ``--cli`` runs the same library functions without Airflow.
Re-running the demo is safe: files already processed are skipped by content hash.
"""

from __future__ import annotations

from pathlib import Path

from kpi_transforms.core.config import load_config
from kpi_transforms.pipeline.breaches import find_breaches
from kpi_transforms.pipeline.ingest import ingest_paths
from kpi_transforms.pipeline.reports import reply_duration_report, write_demo_reports
from kpi_transforms.present.breaches import render_breaches
from kpi_transforms.present.console import print_ingest as _print_ingest
from kpi_transforms.warehouse.engine import Warehouse

DATA = Path(__file__).resolve().parent / "demo_data"


def _run_through_dags(work: Path, url: str) -> int:
    import sys

    plugins = Path(__file__).resolve().parents[1] / "plugins"
    if str(plugins) not in sys.path:
        sys.path.insert(0, str(plugins))
    from chatkpi_plugins.demo_run import run_dags_demo

    drops = sorted((DATA / "landing").iterdir())
    return run_dags_demo(drops, DATA / "chatkpi.yaml", url, work)


def run_demo(workdir: str | Path = ".", *, through_airflow: bool = True) -> int:
    work = Path(workdir).resolve()
    config = load_config(DATA / "chatkpi.yaml")
    url = f"duckdb:///{work / 'warehouse' / 'chatkpi.duckdb'}"
    warehouse = Warehouse(url)
    print(f"chatkpi demo: warehouse {work / 'warehouse' / 'chatkpi.duckdb'}, lake {work / 'lake'}\n")
    if through_airflow:
        print("== Airflow: chatkpi_daily for each landing drop, then chatkpi_quarterly for 2025-Q1")
        status = _run_through_dags(work, url)
        if status != 0:
            print("chatkpi demo: a DAG run failed (see the lines above)")
            return status
        print()
        files = warehouse.read_df(
            "select source_file, member, layout, messages_read, messages_new, messages_known, quarantined_lines"
            " from audit.file_manifest order by file_seq"
        )
        files["source_file"] = [Path(f).name + (f"!{m}" if isinstance(m, str) else "") for f, m in zip(files["source_file"], files["member"])]
        print("== audit.file_manifest")
        print(files.drop(columns=["member"]).to_string(index=False))
        print()
    else:
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
    print()

    print("== breaches (chatkpi breaches): queues past their 1-working-day deadline, now")
    print(render_breaches(find_breaches(warehouse), "table", "id", config.timezone))
    print()

    print("== reports")
    written = write_demo_reports(warehouse, config, work / "reports")
    for path in written:
        print(f"wrote {path}")
    if not any(p.suffix == ".pdf" for p in written):
        print("one-page summary: no Chromium on PATH, wrote its HTML instead (apt-get install chromium for the PDF)")
    return 0
