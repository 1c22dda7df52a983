"""Creates the ``chatkpi_warehouse`` pool when an Airflow component starts.

Every task that opens the warehouse runs in that pool, and Airflow never schedules a task whose
pool does not exist (it only logs "Tasks using non-existent pool ..."). The plugin registers this
module as a listener: when the scheduler, the dag-processor or the triggerer starts (Airflow's
``on_starting`` lifecycle hook, called with the job being started), the pool is created if it is
missing, with 1 slot for a DuckDB warehouse and 4 for PostgreSQL (``CHATKPI_WAREHOUSE_POOL_SLOTS``
overrides). An existing pool is never changed.
"""

from __future__ import annotations

import logging

from airflow.listeners import hookimpl

log = logging.getLogger("chatkpi.pool")


@hookimpl
def on_starting(component) -> None:
    if type(component).__name__ != "Job":  # task runners and other components: nothing to do
        return
    from chatkpi_plugins.runtime import ensure_warehouse_pool

    try:
        ensure_warehouse_pool(log)
    except Exception as exc:  # noqa: BLE001 - a listener must never stop the component
        log.warning("chatkpi: could not create the pool: %s", exc)
