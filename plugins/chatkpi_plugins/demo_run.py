"""Drive the chatkpi DAGs with ``dag.test()`` in a throwaway Airflow (SQLite metadata).

Used by ``chatkpi demo`` and by the end-to-end tests. Airflow reads its settings when it is first
imported, so the DAG runs happen in a child process started with a prepared environment
(``AIRFLOW_HOME`` under the work folder, SQLite metadata, this repository's ``dags/`` and
``plugins/``, the chatkpi config and warehouse URL). Importing this module imports no Airflow.

From Python::

    import sys; sys.path.insert(0, "<repo>/plugins")
    from chatkpi_plugins.demo_run import run_dags_demo
    run_dags_demo(["<repo>/kpi_transforms/demo_data/landing/2025-03", ".../2025-04"],
                  "<repo>/kpi_transforms/demo_data/chatkpi.yaml",
                  "duckdb:///<work>/warehouse/chatkpi.duckdb", "<work>")

From a shell (after preparing the same environment, see :func:`airflow_env`)::

    python -m chatkpi_plugins.demo_run --migrate \\
        --run chatkpi_daily 2025-04-01T01:00:00+07:00 landing/2025-03 --run chatkpi_quarterly 2025-Q1
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DAGS_FOLDER = ROOT / "dags"
PLUGINS_FOLDER = ROOT / "plugins"
_PERIOD = re.compile(r"^\d{4}-(\d{2}|[Qq][1-4])$")


def airflow_env(
    workdir: str | Path,
    config_path: str | Path | None,
    warehouse_url: str | None,
    base: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The environment of a throwaway Airflow under ``<workdir>/.airflow_home`` (ignored by git)."""
    home = Path(workdir).resolve() / ".airflow_home"
    env = {k: v for k, v in (os.environ if base is None else base).items() if not k.startswith("AIRFLOW__")}
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{home / 'airflow.db'}",
        AIRFLOW__CORE__DAGS_FOLDER=str(DAGS_FOLDER),
        AIRFLOW__CORE__PLUGINS_FOLDER=str(PLUGINS_FOLDER),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__DEFAULT_TIMEZONE="Asia/Jakarta",
        AIRFLOW__LOGGING__LOGGING_LEVEL="WARNING",
        PYTHONWARNINGS="ignore",  # library deprecation chatter; the runs report their own state
        PYTHONPATH=os.pathsep.join(p for p in (str(PLUGINS_FOLDER), env.get("PYTHONPATH")) if p),
        GX_ANALYTICS_ENABLED="False",
    )
    env.pop("AIRFLOW_VAR_CHATKPI_LANDING_DIR", None)
    if config_path:
        env["CHATKPI_CONFIG"] = str(Path(config_path).resolve())
    if warehouse_url:
        env["CHATKPI_WAREHOUSE_URL"] = warehouse_url
    return env


def run_steps(
    steps: Sequence[Sequence[str]],
    env: Mapping[str, str],
    *,
    migrate: bool = False,
    cwd: str | Path | None = None,
    capture: bool = False,
    timeout: float = 300,
) -> subprocess.CompletedProcess:
    """Run ``[dag_id, when, (landing_dir)]`` steps in a child process (see :func:`main`)."""
    cmd = [sys.executable, "-m", "chatkpi_plugins.demo_run"] + (["--migrate"] if migrate else [])
    for step in steps:
        cmd += ["--run", *map(str, step)]
    Path(env["AIRFLOW_HOME"]).mkdir(parents=True, exist_ok=True)
    return subprocess.run(
        cmd, env=dict(env), cwd=cwd, capture_output=capture, text=True, timeout=timeout, check=False
    )


def _daily_logical_date(landing: Path, index: int, count: int) -> str:
    """A drop named ``YYYY-MM`` runs as the daily run of the 1st of the next month; others as
    the last days up to today."""
    if re.fullmatch(r"\d{4}-\d{2}", landing.name):
        year, month = map(int, landing.name.split("-"))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        day = dt.date(year, month, 1)
    else:
        day = dt.date.today() - dt.timedelta(days=count - index)
    return f"{day.isoformat()}T01:00:00+07:00"


def run_dags_demo(
    landing_dirs: Sequence[str | Path],
    config_path: str | Path | None,
    warehouse_url: str,
    workdir: str | Path,
    period: str = "2025-Q1",
) -> int:
    """Run ``chatkpi_daily`` once per landing drop, then ``chatkpi_quarterly`` (or
    ``chatkpi_monthly`` for a ``YYYY-MM`` period) for ``period``; print progress. Returns the
    exit status (0 when every run succeeded)."""
    work = Path(workdir).resolve()
    work.mkdir(parents=True, exist_ok=True)
    drops = [Path(p).resolve() for p in landing_dirs]
    steps = [("chatkpi_daily", _daily_logical_date(p, i, len(drops)), str(p)) for i, p in enumerate(drops)]
    steps.append(("chatkpi_monthly" if "Q" not in period.upper() else "chatkpi_quarterly", period))
    print(f"Airflow: throwaway AIRFLOW_HOME {work / '.airflow_home'} (SQLite), dags {DAGS_FOLDER}", flush=True)
    env = airflow_env(work, config_path, warehouse_url)
    return run_steps(steps, env, migrate=True, cwd=work).returncode


# -- the child process ------------------------------------------------------------------------


def _prepare_airflow(migrate: bool) -> None:
    from airflow.models.pool import Pool

    from chatkpi_plugins.runtime import WAREHOUSE_POOL

    if migrate:
        from airflow.utils.db import upgradedb

        started = time.monotonic()
        upgradedb()
        print(f"airflow metadata database ready ({time.monotonic() - started:.1f} s)", flush=True)
    Pool.create_or_update_pool(WAREHOUSE_POOL, slots=1, description="chatkpi: one warehouse writer", include_deferred=False)


def _when(dag, when: str) -> dt.datetime:
    """A logical date for ``dag.test()``: an ISO date-time, or a period label (``2025-Q1``) for
    the audit-calendar DAGs, which then runs at that period's scheduled time."""
    import pendulum

    if _PERIOD.match(when) and hasattr(dag.timetable, "dagrun_info_for"):
        from kpi_transforms.core.periods import parse_period

        return dag.timetable.dagrun_info_for(parse_period(when).start).run_after
    return pendulum.parse(when, tz="Asia/Jakarta")


def _run_one(bag, dag_id: str, when: str, landing: str | None) -> bool:
    dag = bag.dags.get(dag_id)
    if dag is None:
        print(f"!! no DAG {dag_id} in {DAGS_FOLDER}: {bag.import_errors}", flush=True)
        return False
    for task in dag.tasks:  # fail fast: no retry delays in a demo / test run
        task.retries = 0
    if landing:
        os.environ["CHATKPI_LANDING_DIR"] = landing
    logical_date = _when(dag, when)
    started = time.monotonic()
    run = dag.test(logical_date=logical_date)
    interval = f"{run.data_interval_start:%Y-%m-%d %H:%M}Z..{run.data_interval_end:%Y-%m-%d %H:%M}Z" if run.data_interval_start else "-"
    states: dict[str, list[str]] = {}
    for ti in sorted(run.get_task_instances(), key=lambda t: (t.task_id, t.map_index)):
        states.setdefault(ti.task_id, []).append(str(ti.state))
    summary = ", ".join(
        f"{task_id} {'/'.join(sorted(set(s)))}" + (f" x{len(s)}" if len(s) > 1 else "") for task_id, s in states.items()
    )
    print(
        f"== {dag_id} logical date {logical_date.in_timezone('Asia/Jakarta').isoformat()} (data interval {interval})"
        + (f", landing {landing}" if landing else "")
        + f": {run.state} in {time.monotonic() - started:.1f} s [{summary}]",
        flush=True,
    )
    return str(run.state) == "success"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chatkpi_plugins.demo_run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--migrate", action="store_true", help="create / upgrade the Airflow metadata database first")
    parser.add_argument(
        "--run", action="append", nargs="+", default=[], metavar="ARG",
        help="DAG_ID WHEN [LANDING_DIR]: WHEN is a logical date (ISO) or, for monthly / quarterly, a period 2025-Q1",
    )
    args = parser.parse_args(argv)
    if "AIRFLOW_HOME" not in os.environ:
        parser.error("prepare the environment first (chatkpi_plugins.demo_run.airflow_env)")
    _prepare_airflow(args.migrate)
    if not args.run:
        return 0
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS_FOLDER))
    if bag.import_errors:
        print(f"!! DAG import errors: {bag.import_errors}", flush=True)
        return 1
    ok = True
    for step in args.run:
        if not 2 <= len(step) <= 3:
            parser.error(f"--run takes DAG_ID WHEN [LANDING_DIR], got {step}")
        ok = _run_one(bag, step[0], step[1], step[2] if len(step) == 3 else None) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    status = main()
    # Everything is committed by now. Skip interpreter finalisation: with Airflow's in-process
    # task runner still holding DuckDB objects, DuckDB's bindings print pages of (harmless)
    # "nanobind: leaked instance" warnings at shutdown.
    import logging

    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
