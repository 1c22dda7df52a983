"""Airflow test set-up.

Airflow reads its configuration when it is first imported, so this module points it at a
throwaway ``AIRFLOW_HOME`` (SQLite metadata, this repository's ``dags/`` and ``plugins/``)
before any test module imports it, and puts ``plugins/`` on ``sys.path`` the way Airflow does.
The end-to-end DAG runs happen in child processes with their own ``AIRFLOW_HOME`` (see
``chatkpi_plugins.demo_run``), migrated once per session by the ``airflow_session`` fixture.
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DAGS = ROOT / "dags"
PLUGINS = ROOT / "plugins"
DEMO = ROOT / "kpi_transforms" / "demo_data"

if "airflow" in sys.modules:  # pragma: no cover - a plugin or earlier test imported it first
    raise RuntimeError("airflow was imported before tests/airflow/conftest.py could configure it")

_HOME = Path(tempfile.mkdtemp(prefix="chatkpi-airflow-home-"))
atexit.register(shutil.rmtree, _HOME, ignore_errors=True)
for _key in [k for k in os.environ if k.startswith("AIRFLOW__") or k.startswith("AIRFLOW_VAR_") or k.startswith("AIRFLOW_CONN_")]:
    del os.environ[_key]
os.environ.update(
    AIRFLOW_HOME=str(_HOME),
    AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{_HOME / 'airflow.db'}",
    AIRFLOW__CORE__DAGS_FOLDER=str(DAGS),
    AIRFLOW__CORE__PLUGINS_FOLDER=str(PLUGINS),
    AIRFLOW__CORE__LOAD_EXAMPLES="False",
)
if str(PLUGINS) not in sys.path:
    sys.path.insert(0, str(PLUGINS))


def pytest_collection_modifyitems(items):
    # Airflow 3.3 reads the plugins folder's .airflowignore through a deprecated pathspec class
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.filterwarnings("ignore:GitWildMatchPattern:DeprecationWarning"))


@pytest.fixture(autouse=True)
def _builtin_calendar(monkeypatch):
    """Timetable and callback tests use the built-in calendar unless a test sets a config."""
    monkeypatch.delenv("CHATKPI_CONFIG", raising=False)


@pytest.fixture(scope="session")
def airflow_session(tmp_path_factory):
    """A migrated throwaway Airflow for child-process DAG runs: ``(env, workdir)``.

    The child processes use the demo config and a DuckDB warehouse file in ``workdir``."""
    from chatkpi_plugins.demo_run import airflow_env, run_steps

    workdir = tmp_path_factory.mktemp("airflow-e2e")
    env = airflow_env(workdir, DEMO / "chatkpi.yaml", f"duckdb:///{workdir / 'warehouse' / 'chatkpi.duckdb'}")
    done = run_steps([], env, migrate=True, cwd=workdir, capture=True)
    assert done.returncode == 0, done.stdout + done.stderr
    return env, workdir
