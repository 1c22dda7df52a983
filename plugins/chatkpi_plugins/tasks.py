"""The chatkpi task adapters the DAG files wire together.

Each task takes its partition from the run context, calls one ``kpi_transforms`` function and
returns paths or counts, never a DataFrame. Heavy imports stay inside the task bodies, so
importing this module (while a DAG file is parsed) touches no warehouse, Variable or file.
Tasks that open the warehouse run in the ``chatkpi_warehouse`` pool.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import task

from chatkpi_plugins.runtime import WAREHOUSE_POOL, warehouse_asset

FACT_ASSETS = [
    warehouse_asset("marts.fct_message"),
    warehouse_asset("marts.fct_reply_pair"),
    warehouse_asset("marts.fct_thread"),
]
KPI_ASSET = warehouse_asset("marts.fct_kpi")


@task(pool=WAREHOUSE_POOL)
def find_new_files(run_id: str | None = None) -> list[str]:
    """The files of the landing folder whose content the warehouse has not seen. The date-order
    hints of known chats go to ``hints.json`` in this run's stage folder for the parse tasks."""
    import json

    from chatkpi_plugins.runtime import landing_dir, stage_dir
    from kpi_transforms.core.config import load_config
    from kpi_transforms.pipeline.staging import find_new_files as find
    from kpi_transforms.warehouse.engine import Warehouse

    config = load_config()
    found = find([landing_dir(config)], Warehouse())
    if found["files"]:
        folder = stage_dir(config, run_id)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "hints.json").write_text(json.dumps(found["hints"]), encoding="utf-8")
    print(f"{len(found['files'])} new file(s), {found['skipped']} already processed")
    return found["files"]


@task
def stage_file(path: str, run_id: str | None = None) -> str:
    """Parse one file into this run's stage folder (mapped per file; no warehouse access)."""
    import json

    from chatkpi_plugins.runtime import stage_dir
    from kpi_transforms.core.config import load_config
    from kpi_transforms.pipeline.staging import stage_file as stage

    config = load_config()
    folder = stage_dir(config, run_id)
    hints = json.loads((folder / "hints.json").read_text(encoding="utf-8"))
    return stage(path, config, folder, hints)


@task(pool=WAREHOUSE_POOL, outlets=FACT_ASSETS)
def load_batch(folders: list[str], run_id: str | None = None, outlet_events: Any = None) -> dict[str, int]:
    """Load the staged files in one transaction (facts of the affected threads are rebuilt
    inside it), then remove this run's stage folder."""
    import shutil

    from chatkpi_plugins.runtime import stage_dir
    from kpi_transforms.core.config import load_config
    from kpi_transforms.pipeline.staging import load_staged
    from kpi_transforms.warehouse.engine import Warehouse

    config = load_config()
    report = load_staged(folders[:], config, Warehouse())  # one slice request, in map-index order
    shutil.rmtree(stage_dir(config, run_id), ignore_errors=True)
    counts = {status: report.count(status) for status in ("loaded", "skipped", "rejected")}
    counts.update(messages_new=report.messages_new, affected_threads=len(report.affected_threads))
    for asset in FACT_ASSETS:
        outlet_events[asset].extra = {"batch_id": report.batch_id, **counts}
    print(f"batch {report.batch_id}: {counts}")
    return counts


@task(pool=WAREHOUSE_POOL, outlets=[KPI_ASSET])
def compute_kpis(dag: Any = None, data_interval_start: Any = None, dag_run: Any = None) -> int:
    """Compute the run's period (``2025-03`` / ``2025-Q1``, from the data interval in local time)
    and replace its rows in ``marts.fct_kpi``; return the row count."""
    from kpi_transforms.core.config import load_config
    from kpi_transforms.pipeline.kpis import compute_period_kpis
    from kpi_transforms.warehouse.engine import Warehouse

    period = dag.timetable.period_of_run(data_interval_start, dag_run.run_after)
    frame = compute_period_kpis(Warehouse(), load_config(), period)
    print(f"period {period}: {len(frame)} KPI rows written to marts.fct_kpi")
    return len(frame)
