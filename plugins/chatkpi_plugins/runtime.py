"""Small run-time helpers for the chatkpi DAG tasks (Airflow glue, no business logic).

Everything that reads a Variable, the environment or the config is called from inside a task,
never while a DAG file is parsed.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from airflow.sdk import Asset

    from kpi_transforms.core.config import Config

WAREHOUSE_POOL = "chatkpi_warehouse"
"""The Airflow pool every task that opens the warehouse runs in. The embedded DuckDB file allows
one writing process, so the pool has one slot; on PostgreSQL it may have more."""

LANDING_VARIABLE = "chatkpi_landing_dir"


def warehouse_asset(table: str) -> Asset:
    """The Airflow Asset of a warehouse table such as ``marts.fct_message``. The ``x-`` scheme is
    Airflow's convention for URIs without provider semantics (no normaliser applies)."""
    from airflow.sdk import Asset

    return Asset(name=f"chatkpi.{table}", uri=f"x-chatkpi://warehouse/{table}", group="chatkpi")


def landing_dir(config: Config) -> str:
    """The landing folder: Airflow Variable ``chatkpi_landing_dir``, else ``$CHATKPI_LANDING_DIR``,
    else the config's ``landing_dir``. Call inside a task only."""
    from airflow.sdk import Variable

    return Variable.get(LANDING_VARIABLE, default=None) or os.environ.get("CHATKPI_LANDING_DIR") or config.landing_dir


def stage_dir(config: Config, run_id: str) -> Path:
    """The per-run folder mapped parse tasks write to: ``$CHATKPI_STAGE_DIR/<run_id>``, else
    ``<lake_dir>/_stage/<run_id>``. Every worker must see the same folder (a shared volume)."""
    root = Path(os.environ.get("CHATKPI_STAGE_DIR") or Path(config.lake_dir) / "_stage")
    return (root / re.sub(r"[^A-Za-z0-9_.-]+", "_", run_id)).resolve()


REPORTS_ENV = "CHATKPI_REPORTS_DIR"


def reports_dir(config: Config) -> Path:
    """Where the report step writes: ``$CHATKPI_REPORTS_DIR``, else ``reports/`` beside the lake."""
    return Path(os.environ.get(REPORTS_ENV) or Path(config.lake_dir).parent / "reports").resolve()


def env_int(name: str, default: int) -> int:
    """An integer knob from the environment (read while a DAG file is parsed: no Variable, no
    file, no warehouse), else ``default``."""
    try:
        return int(os.environ.get(name, "") or default)
    except ValueError:
        return default


def quiet_library_logs() -> None:
    """Keep task logs about the task: Great Expectations logs every metric and expectation it
    registers at INFO (214 of 230 lines of a load's log); from WARNING up they still show."""
    import logging

    for name in ("great_expectations", "great_expectations.expectations.registry", "great_expectations.data_context"):
        logging.getLogger(name).setLevel(logging.WARNING)


def default_pool_slots(warehouse_url: str | None = None) -> int:
    """Slots of the warehouse pool when the project creates it: 1 for the embedded DuckDB file
    (one writing process), 4 for PostgreSQL (loads and KPI writes serialise themselves with
    advisory locks; the pool only bounds connections). ``$CHATKPI_WAREHOUSE_POOL_SLOTS`` wins."""
    if os.environ.get("CHATKPI_WAREHOUSE_POOL_SLOTS"):
        return env_int("CHATKPI_WAREHOUSE_POOL_SLOTS", 1)
    url = warehouse_url if warehouse_url is not None else os.environ.get("CHATKPI_WAREHOUSE_URL", "")
    return 4 if url.startswith("postgresql") else 1


def ensure_warehouse_pool(log=None) -> bool:
    """Create the ``chatkpi_warehouse`` pool when it does not exist (an operator's pool is left
    as it is). Runs in Airflow components with metadata-database access (the scheduler and the
    dag-processor, through the plugin's listener). Returns True when it created the pool."""
    from airflow.models.pool import Pool

    if Pool.get_pool(WAREHOUSE_POOL) is not None:
        return False
    slots = default_pool_slots()
    try:
        Pool.create_or_update_pool(
            WAREHOUSE_POOL, slots=slots, include_deferred=False,
            description=f"chatkpi: tasks that open the warehouse (created by the chatkpi plugin, {slots} slot(s))",
        )
    except Exception:  # noqa: BLE001 - another component created it at the same moment
        if Pool.get_pool(WAREHOUSE_POOL) is None:
            raise
        return False
    if log is not None:
        log.warning("chatkpi: created the missing pool %s with %d slot(s)", WAREHOUSE_POOL, slots)
    return True
