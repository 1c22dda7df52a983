"""A real Airflow 3 deployment in a throwaway folder, for end-to-end tests: the metadata database
(SQLite), ``airflow api-server`` (the Execution API the LocalExecutor's task processes report
to), ``airflow scheduler`` (LocalExecutor) and ``airflow dag-processor``, started as child
processes of the test (each in its own process group) and stopped by it.

Nothing here creates the pool: the chatkpi plugin's listener does when the components start,
as in a real deployment. The stack reads only the folders it is given.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class AirflowStack:
    """``with AirflowStack(workdir, chatkpi_env) as stack: stack.cli("dags", "unpause", ...)``."""

    COMPONENTS = ("api-server", "scheduler", "dag-processor")

    def __init__(self, workdir: Path, chatkpi_env: Mapping[str, str], base_env: Mapping[str, str] | None = None):
        self.workdir = Path(workdir)
        self.home = self.workdir / "airflow_home"
        self.home.mkdir(parents=True, exist_ok=True)
        self.db = self.home / "airflow.db"
        self.port = free_port()
        base = dict(os.environ if base_env is None else base_env)
        env = {k: v for k, v in base.items() if not k.startswith(("AIRFLOW__", "AIRFLOW_VAR_", "AIRFLOW_CONN_", "CHATKPI_"))}
        env.update(
            AIRFLOW_HOME=str(self.home),
            AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{self.db}",
            AIRFLOW__CORE__EXECUTOR="LocalExecutor",
            AIRFLOW__CORE__PARALLELISM="4",
            AIRFLOW__CORE__DAGS_FOLDER=str(ROOT / "dags"),
            AIRFLOW__CORE__PLUGINS_FOLDER=str(ROOT / "plugins"),
            AIRFLOW__CORE__LOAD_EXAMPLES="False",
            AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION="True",
            AIRFLOW__CORE__DEFAULT_TIMEZONE="Asia/Jakarta",
            AIRFLOW__CORE__EXECUTION_API_SERVER_URL=f"http://127.0.0.1:{self.port}/execution/",
            AIRFLOW__API__HOST="127.0.0.1",
            AIRFLOW__API__PORT=str(self.port),
            AIRFLOW__API__WORKERS="1",
            AIRFLOW__API_AUTH__JWT_SECRET="chatkpi-test-only-" + os.urandom(8).hex(),
            AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC="1",
            AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL="5",
            AIRFLOW__LOGGING__LOGGING_LEVEL="INFO",
            PYTHONWARNINGS="ignore",
            PYTHONPATH=os.pathsep.join(p for p in (str(ROOT / "plugins"), base.get("PYTHONPATH")) if p),
            PATH=os.pathsep.join([str(BIN), base.get("PATH", "")]),
            GX_ANALYTICS_ENABLED="False",
        )
        env.update(chatkpi_env)
        self.env = env
        self.processes: dict[str, subprocess.Popen] = {}

    # -- lifecycle -------------------------------------------------------------------------

    def __enter__(self) -> AirflowStack:
        self.cli("db", "migrate", timeout=180)
        for name in self.COMPONENTS:
            log = open(self.home / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
            self.processes[name] = subprocess.Popen(
                [str(BIN / "airflow"), name], env=self.env, cwd=self.workdir, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def stop(self) -> None:
        """SIGTERM each component's process group (the scheduler's task processes included),
        then SIGKILL what is left after 30 s."""
        for proc in self.processes.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        for proc in self.processes.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        for proc in self.processes.values():  # leftovers of a group whose leader exited
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def check_alive(self) -> None:
        for name, proc in self.processes.items():
            if proc.poll() is not None:
                raise RuntimeError(f"airflow {name} exited with {proc.returncode}:\n{self.tail(name)}")

    def tail(self, name: str, chars: int = 3000) -> str:
        path = self.home / f"{name}.log"
        return path.read_text(encoding="utf-8", errors="replace")[-chars:] if path.exists() else ""

    # -- reading and driving -------------------------------------------------------------------

    def cli(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        done = subprocess.run(
            [str(BIN / "airflow"), *args], env=self.env, cwd=self.workdir, capture_output=True, text=True, timeout=timeout,
        )
        if done.returncode != 0:
            raise RuntimeError(f"airflow {' '.join(args)} failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
        return done

    def sql(self, query: str, params: tuple = ()) -> list[tuple]:
        if not self.db.exists():
            return []
        conn = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True, timeout=30)
        try:
            return conn.execute(query, params).fetchall()
        except sqlite3.OperationalError as exc:  # a table the migration has not made yet
            if "no such table" in str(exc):
                return []
            raise
        finally:
            conn.close()

    def wait(self, what: str, condition: Callable[[], Any], timeout: float, poll: float = 1.0) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            self.check_alive()
            value = condition()
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}\n--- scheduler:\n{self.tail('scheduler')}")
            time.sleep(poll)

    def runs(self, dag_id: str) -> list[dict]:
        rows = self.sql(
            "select run_id, run_type, state, logical_date, data_interval_start, data_interval_end, start_date, end_date"
            " from dag_run where dag_id = ? order by id",
            (dag_id,),
        )
        keys = ("run_id", "run_type", "state", "logical_date", "data_interval_start", "data_interval_end", "start_date", "end_date")
        return [dict(zip(keys, row)) for row in rows]

    def failed_tasks(self) -> list[tuple]:
        return self.sql("select dag_id, run_id, task_id, map_index, state from task_instance where state in ('failed', 'upstream_failed', 'up_for_retry')")

    def xcom(self, dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> Any:
        rows = self.sql(
            "select value from xcom where dag_id = ? and run_id = ? and task_id = ? and map_index = ? and key = 'return_value'",
            (dag_id, run_id, task_id, map_index),
        )
        if not rows:
            return None
        value = rows[0][0]
        value = json.loads(value) if isinstance(value, (str, bytes)) else value
        return json.loads(value) if isinstance(value, str) and value[:1] in "[{\"" else value

    def task_instances(self, dag_id: str, run_id: str) -> list[dict]:
        rows = self.sql(
            "select task_id, map_index, rendered_map_index, state, try_number, start_date, end_date, duration"
            " from task_instance where dag_id = ? and run_id = ? order by start_date",
            (dag_id, run_id),
        )
        keys = ("task_id", "map_index", "rendered_map_index", "state", "try_number", "start_date", "end_date", "duration")
        return [dict(zip(keys, row)) for row in rows]

    def task_log(self, dag_id: str, run_id: str, task_id: str, map_index: int = -1, attempt: int = 1) -> str:
        folder = self.home / "logs" / f"dag_id={dag_id}" / f"run_id={run_id}" / f"task_id={task_id}"
        if map_index >= 0:
            folder = folder / f"map_index={map_index}"
        path = folder / f"attempt={attempt}.log"
        return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""
