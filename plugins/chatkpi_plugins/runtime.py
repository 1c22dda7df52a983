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
