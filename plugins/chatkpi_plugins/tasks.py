"""The chatkpi task adapters the DAG files wire together.

Each task takes its partition from the run context (or its upstream), calls one
``kpi_transforms`` function and returns paths, labels or counts, never a DataFrame. Heavy
imports stay inside the task bodies, so importing this module (while a DAG file is parsed)
touches no warehouse, Variable or file. Tasks that open the warehouse run in the
``chatkpi_warehouse`` pool, with an ``execution_timeout`` and at most one instance per DAG at a
time (``max_active_tis_per_dag=1``: a backfill and a scheduled run of the same DAG never write
together). Every task is a transaction or replaces whole files, so a retry or a clear after a
commit succeeds and changes nothing (docs/OPERATIONS.md, "Re-running").

The pipeline steps (``kpi_transforms.pipeline.steps``), one task and one Asset each:

=====================  ==========================================  ===========================
task                   step                                        Asset
=====================  ==========================================  ===========================
``load_batch``         load + facts, one transaction               ``marts.fct_message``,
                                                                   ``fct_reply_pair``,
                                                                   ``fct_thread`` (one commit)
``compute_kpis``       the period's KPIs                           ``marts.fct_kpi``
``draw_audit_sample``  its audit sample (quarters)                 ``audit.sample``
``compute_scorecards`` its scorecards (after the sample: seed 001  ``marts.fct_scorecard``
                       weighs the audit KPIs the sample refreshes)
``write_reports``      HTML / xlsx reports, review sheet           ``chatkpi.reports``
=====================  ==========================================  ===========================
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from airflow.sdk import Asset, PokeReturnValue, task
from chatkpi_plugins.runtime import WAREHOUSE_POOL, env_int, warehouse_asset

FACT_ASSETS = [
    warehouse_asset("marts.fct_message"),
    warehouse_asset("marts.fct_reply_pair"),
    warehouse_asset("marts.fct_thread"),
]
KPI_ASSET = warehouse_asset("marts.fct_kpi")
SCORECARD_ASSET = warehouse_asset("marts.fct_scorecard")
AUDIT_SAMPLE_ASSET = warehouse_asset("audit.sample")
REPORTS_ASSET = Asset(name="chatkpi.reports", uri="x-chatkpi://reports", group="chatkpi")

# Knobs read from the environment when a DAG file is parsed (never a Variable or a file).
STAGE_CONCURRENCY = env_int("CHATKPI_STAGE_CONCURRENCY", 2)  # parse tasks of one run at once (2 cores)
EXTRACT_CONCURRENCY = env_int("CHATKPI_EXTRACT_CONCURRENCY", 2)  # extract tasks of one run at once (network-bound)
# how long an extract task waits for another run of its source (the command line, an overlapping
# run, the other folder of its mailbox) before it fails and is retried
EXTRACT_LOCK_WAIT = env_int("CHATKPI_EXTRACT_LOCK_WAIT", 3600)
WAIT_POKE_SECONDS = env_int("CHATKPI_WAIT_POKE_SECONDS", 600)
WAIT_TIMEOUT_SECONDS = env_int("CHATKPI_WAIT_TIMEOUT_SECONDS", 24 * 3600)

TIMEOUT_SCAN = dt.timedelta(minutes=30)
TIMEOUT_EXTRACT = dt.timedelta(hours=2)
TIMEOUT_LOAD = dt.timedelta(hours=2)
TIMEOUT_PERIOD_STEP = dt.timedelta(hours=1)
_WAREHOUSE_TASK = {"pool": WAREHOUSE_POOL, "max_active_tis_per_dag": 1}
# The daily load goes first when the pool frees up: the KPI runs are waiting for it (by default a
# sensor with 4 steps downstream outranks a scan with 2).
LOAD_PRIORITY = 100


def _label(period: Any) -> str:
    """A step's period: the label itself, or the summary dict of the step before."""
    return str(period["period"] if isinstance(period, dict) else period)


def _mark_map_index(key: str, value: str) -> None:
    """Give a mapped task instance a readable name in the UI (its ``map_index_template``)."""
    from airflow.sdk import get_current_context

    get_current_context()[key] = value[:240]


def _warehouse():
    from chatkpi_plugins.runtime import quiet_library_logs
    from kpi_transforms.core.config import load_config
    from kpi_transforms.warehouse.engine import Warehouse

    quiet_library_logs()
    return Warehouse(), load_config()


def _extract_dir(config: Any) -> Any:
    """The extract landing folder when the config has an ``extract:`` section, else None (a
    broken section is reported by ``plan_extract``; the landing scan goes on without it)."""
    if not getattr(config, "extract", None):
        return None
    from chatkpi_plugins.runtime import landing_dir
    from kpi_transforms.core.config import ConfigError
    from kpi_transforms.pipeline.extraction import extract_dir, extract_settings

    try:
        return extract_dir(config, extract_settings(config), landing_dir(config))
    except ConfigError as exc:
        print(f"extract: section ignored by this task: {exc}")
        return None


def _extract_credentials(unit: dict, source: Any) -> tuple[Any, Any]:
    """(IMAP credentials, S3 keys) from the source's Airflow connection (``conn_id``, else
    ``chatkpi_<kind>_<name>`` when that connection exists), else (None, None): the extractor
    then reads the environment variables the source names. Never printed."""
    from airflow.exceptions import AirflowNotFoundException
    from airflow.sdk import Connection

    from kpi_transforms.extract.common import ExtractError
    from kpi_transforms.extract.imap import ImapCredentials

    conn_id = source.conn_id or f"chatkpi_{unit['kind']}_{unit['source']}"
    try:
        conn = Connection.get(conn_id)
    except AirflowNotFoundException:
        if source.conn_id:
            raise ExtractError(f"{unit['kind']} source {unit['source']!r}: the Airflow connection {conn_id!r} is not defined") from None
        return None, None
    if not conn.login or not conn.password:
        raise ExtractError(f"{unit['kind']} source {unit['source']!r}: the Airflow connection {conn_id!r} needs a login and a password")
    if unit["kind"] == "imap":
        return ImapCredentials(conn.login, conn.password), None
    return None, (conn.login, conn.password)


# -- daily: extract, scan, stage, load ---------------------------------------------------------


@task(**_WAREHOUSE_TASK, execution_timeout=TIMEOUT_SCAN, priority_weight=LOAD_PRIORITY)
def plan_extract() -> list[dict[str, Any]]:
    """The configured extraction units (one per IMAP folder, one per S3 source) with their
    committed checkpoints, so the mapped extract tasks never open the warehouse. A broken
    ``extract:`` section fails this task (one line naming the key); the landing scan still runs."""
    from kpi_transforms.pipeline.extraction import extract_settings, plan_units, unit_label

    warehouse, config = _warehouse()
    units = plan_units(warehouse, extract_settings(config))
    print(f"{len(units)} extraction unit(s): {', '.join(unit_label(u) for u in units) or '-'}")
    return units


@task(map_index_template="{{ chatkpi_source }}", max_active_tis_per_dagrun=EXTRACT_CONCURRENCY,
      execution_timeout=TIMEOUT_EXTRACT, priority_weight=LOAD_PRIORITY)
def extract_source(unit: dict[str, Any]) -> dict[str, Any]:
    """Extract one unit (an IMAP folder, an S3 source) into the extract landing folder and
    leave its proposed checkpoints pending for the load (mapped per unit, named after it; no
    warehouse access). A failing unit fails its own task with a log line; the other units and
    the scan go on."""
    from chatkpi_plugins.runtime import quiet_library_logs
    from kpi_transforms.core.config import load_config
    from kpi_transforms.pipeline.extraction import describe, extract_settings, extract_unit, source_of, unit_label

    quiet_library_logs()
    label = unit_label(unit)
    _mark_map_index("chatkpi_source", label)
    try:
        config = load_config()
        settings = extract_settings(config)
        imap_credentials, s3_keys = _extract_credentials(unit, source_of(settings, unit))
        result = extract_unit(unit, settings, _extract_dir(config), imap_credentials=imap_credentials, s3_keys=s3_keys,
                              lock_wait=EXTRACT_LOCK_WAIT)
    except Exception as exc:
        print(f"extract {label}: FAILED: {type(exc).__name__}: {exc}")
        raise
    print(f"extract {describe(result)}")
    for problem in result["problems"]:
        print(f"extract {label}: skipped {problem}")
    return result


@task(**_WAREHOUSE_TASK, execution_timeout=TIMEOUT_SCAN, priority_weight=LOAD_PRIORITY, trigger_rule="all_done")
def find_new_files(run_id: str | None = None) -> list[str]:
    """The files of the landing folder (and of the extract folder, wherever it is) whose content
    the warehouse has not seen; the scan is recorded in ``audit.landing_scan`` (complete at once
    when nothing is new: the data horizon moves). Runs whatever the extract tasks did. Pending
    extraction checkpoints whose files are all known already commit here; the others wait for
    the load. The date-order hints of known chats go to ``hints.json`` in this run's stage
    folder for the parse tasks."""
    import json

    from chatkpi_plugins.runtime import landing_dir, stage_dir
    from kpi_transforms.pipeline.extraction import commit_ready_checkpoints
    from kpi_transforms.pipeline.staging import find_new_files as find
    from kpi_transforms.pipeline.readiness import record_scan

    warehouse, config = _warehouse()
    folder_scanned = landing_dir(config)
    scanned_at = dt.datetime.now(dt.timezone.utc)
    extracted = _extract_dir(config)
    paths = [folder_scanned] + ([str(extracted)] if extracted is not None and extracted.is_dir() else [])
    found = find(paths, warehouse)
    if extracted is not None:
        committed = commit_ready_checkpoints(warehouse, extracted)
        if committed:
            print(f"{committed} extraction checkpoint proposal(s) committed: their files were loaded earlier")
    record_scan(warehouse, folder_scanned, scanned_at, len(found["files"]), found["skipped"], run_id=run_id)
    if found["files"]:
        folder = stage_dir(config, run_id)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "hints.json").write_text(json.dumps(found["hints"]), encoding="utf-8")
    print(f"{len(found['files'])} new file(s), {found['skipped']} already processed")
    return found["files"]


@task(map_index_template="{{ chatkpi_file }}", max_active_tis_per_dagrun=STAGE_CONCURRENCY, execution_timeout=TIMEOUT_SCAN,
      priority_weight=LOAD_PRIORITY)
def stage_file(path: str, run_id: str | None = None) -> dict[str, Any]:
    """Parse one file into this run's stage folder (mapped per file; no warehouse access).
    Returns the folder, the content hashes parsed and the file's rejections; the task instance
    is named after the file (``rejected: reason`` appended when it cannot be used)."""
    import json
    from pathlib import Path

    from chatkpi_plugins.runtime import quiet_library_logs, stage_dir
    from kpi_transforms.core.config import load_config
    from kpi_transforms.pipeline.staging import stage_file as stage

    quiet_library_logs()
    name = Path(path).name
    _mark_map_index("chatkpi_file", name)
    config = load_config()
    folder = stage_dir(config, run_id)
    hints_file = folder / "hints.json"
    hints = json.loads(hints_file.read_text(encoding="utf-8")) if hints_file.is_file() else {}
    staged = stage(path, config, folder, hints)
    results = json.loads((Path(staged) / "result.json").read_text(encoding="utf-8"))
    rejected = [
        {"file": name + (f"!{r['member']}" if r.get("member") else ""), "reason": r.get("reason")}
        for r in results if r.get("status") == "rejected"
    ]
    if rejected:
        _mark_map_index("chatkpi_file", f"{name} (rejected: {rejected[0]['reason']})")
        print(f"{name}: rejected: " + "; ".join(str(r["reason"]) for r in rejected))
    return {"folder": staged, "file": name, "sha256": [r["sha256"] for r in results if r.get("sha256")], "rejected": rejected}


@task(**_WAREHOUSE_TASK, outlets=FACT_ASSETS, execution_timeout=TIMEOUT_LOAD, priority_weight=LOAD_PRIORITY)
def load_batch(staged: list[Any], run_id: str | None = None, outlet_events: Any = None) -> dict[str, Any]:
    """Load the staged files and rebuild the facts of their threads in one transaction
    (``kpi_transforms.pipeline.steps.load_step``), complete the run's landing scan, then remove
    this run's stage folder. A retry or clear after the commit finds the files processed and
    loads nothing. Rejected files raise a warning alert (log line + ``chatkpi_alerts``)."""
    import shutil

    from airflow.sdk import get_current_context

    from chatkpi_plugins.callbacks import warn
    from chatkpi_plugins.runtime import stage_dir
    from kpi_transforms.pipeline.steps import load_step

    warehouse, config = _warehouse()
    items = [s if isinstance(s, dict) else {"folder": s, "sha256": []} for s in staged[:]]  # one slice request
    shas = [sha for item in items for sha in item["sha256"]]
    result = load_step([i["folder"] for i in items], shas if all(i["sha256"] for i in items) else [], config, warehouse, run_id=run_id,
                       extract_dir=_extract_dir(config))
    shutil.rmtree(stage_dir(config, run_id), ignore_errors=True)
    counts = {k: result[k] for k in ("loaded", "skipped", "rejected", "messages_new", "affected_threads")}
    for asset in FACT_ASSETS:
        outlet_events[asset].extra = {"batch_id": result["batch_id"], **counts, "periods": result["periods"]}
    if result["already_committed"]:
        print(f"batch {result['batch_id']}: already committed (a retry or a clear), nothing loaded: {counts}")
    else:
        print(f"batch {result['batch_id']}: {counts}; periods changed: {', '.join(result['periods']) or '-'}")
    if result.get("checkpoints"):
        print(f"batch {result['batch_id']}: {result['checkpoints']} extraction checkpoint proposal(s) committed with it")
    if result["rejected_files"]:
        listed = "; ".join(f"{r['file']} ({r['reason']})" for r in result["rejected_files"])
        warn(get_current_context(), f"rejected {len(result['rejected_files'])} file(s): {listed}")
    return {**counts, "batch_id": result["batch_id"], "already_committed": result["already_committed"],
            "rejected_files": result["rejected_files"], "periods": result["periods"]}


@task(**_WAREHOUSE_TASK, execution_timeout=TIMEOUT_SCAN, trigger_rule="none_failed")
def prune_landed(loaded: Any = None) -> dict[str, Any]:
    """The retention of extracted files, after the load committed (or was skipped: nothing new):
    delete the files of the extract folder whose content was loaded more than
    ``extract.keep_landed_days`` days ago (``kpi_transforms.pipeline.extraction.prune_landed``;
    never a file not loaded, quarantined or still named by a pending extraction), each source
    under its lock. Does nothing when the config sets no retention or has no ``extract:``."""
    from kpi_transforms.pipeline.extraction import extract_settings, prune_landed as prune

    warehouse, config = _warehouse()
    extracted = _extract_dir(config)
    days = extract_settings(config).keep_landed_days if extracted is not None else None
    if extracted is None or days is None or not extracted.is_dir():
        print("prune: no retention configured (extract.keep_landed_days), nothing deleted")
        return {"deleted": 0, "keep_days": days}
    report = prune(warehouse, extracted, days, lock_wait=EXTRACT_LOCK_WAIT)
    print(f"prune: {report.line()}")
    return dataclasses.asdict(report)


@task(**_WAREHOUSE_TASK, execution_timeout=TIMEOUT_LOAD, trigger_rule="none_failed")
def retrain_intents(loaded: Any = None) -> dict[str, Any]:
    """Retrain the intent model on the shipped corpus plus the installation's labels (manual
    intent-label files, intents confirmed in the review sheet) and store it as the active
    version (``kpi_transforms.pipeline.intents.train_intent_model``). Skipped, cheaply, when
    the label set's hash equals the active model's (or there are no labels and no stored model).
    Runs also when the load was skipped (labels come from ``chatkpi audit import`` too). Stored
    pairs are not re-classified here: each thread takes the new model when it is next rebuilt,
    so a retrain never restates closed periods behind the KPI runs' back (docs/DECISIONS.md)."""
    from kpi_transforms.pipeline.intents import train_intent_model

    warehouse, config = _warehouse()
    result = train_intent_model(warehouse, config, only_if_changed=True, rebuild=False)
    print(result.summary())
    return {"version": result.version, "skipped": result.skipped_reason, "labels_sha256": result.labels_sha256, **result.counts}


BREACH_SMTP_CONNECTION = "chatkpi_smtp"  # host, port, login / password; extra: {"from", "to": [...], "starttls"}
BREACH_WEBHOOK_CONNECTION = "chatkpi_breach_webhook"  # URL as host (or extra {"url"}), as chatkpi_alerts


def _connection(conn_id: str) -> Any | None:
    try:
        from airflow.sdk import Connection

        return Connection.get(conn_id)
    except Exception:  # noqa: BLE001 - an unset connection means: that channel is off
        return None


@task(**_WAREHOUSE_TASK, execution_timeout=TIMEOUT_SCAN, trigger_rule="none_failed")
def alert_breaches(loaded: Any = None) -> dict[str, Any]:
    """Issue 17: the customer queues open past their 1-working-day deadline *now* (the run's
    clock), sent by e-mail through the ``chatkpi_smtp`` connection and / or POSTed to the
    ``chatkpi_breach_webhook`` connection, with a link to the report (Variable
    ``chatkpi_report_url``, optional). Nothing is sent when nothing waits, or when neither
    connection exists (the list is still printed in the task log). Runs also when the load was
    skipped: an open queue is news every morning until it is answered."""
    from airflow.sdk import Variable
    from chatkpi_plugins.callbacks import webhook_url
    from kpi_transforms.pipeline.alerts import breach_alert, send_email, send_webhook

    warehouse, config = _warehouse()
    link = Variable.get("chatkpi_report_url", default=None)
    alert = breach_alert(warehouse, config, link=link)
    print(alert.subject + "\n" + alert.text)
    sent: list[str] = []
    if alert.empty:
        return {"open": 0, "sent": sent}
    smtp = _connection(BREACH_SMTP_CONNECTION)
    if smtp is not None:
        extra = smtp.extra_dejson or {}
        recipients = extra.get("to") or []
        send_email(alert, host=smtp.host, port=int(smtp.port or 25), sender=extra.get("from") or "chatkpi@localhost",
                   recipients=[recipients] if isinstance(recipients, str) else list(recipients),
                   username=smtp.login or None, password=smtp.password or None, starttls=bool(extra.get("starttls")))
        sent.append("email")
    hook = _connection(BREACH_WEBHOOK_CONNECTION)
    url = webhook_url(hook) if hook is not None else None
    if url:
        send_webhook(alert, url)
        sent.append("webhook")
    return {"open": len(alert.breaches), "sent": sent}


# -- a period: wait for its data, KPIs, scorecards and audit sample, reports ------------------


@task.sensor(
    pool=WAREHOUSE_POOL, mode="reschedule", poke_interval=WAIT_POKE_SECONDS, timeout=WAIT_TIMEOUT_SECONDS,
    execution_timeout=dt.timedelta(minutes=10),
)
def wait_for_data(dag: Any = None, dag_run: Any = None) -> PokeReturnValue:
    """Wait until the daily loads covering the run's period have committed: the data horizon
    (``audit.landing_scan``) has passed the period's end. Reschedule mode: the pool slot and the
    worker are free between pokes. Returns the period label (``2025-Q1``) as its XCom."""
    from kpi_transforms.pipeline.readiness import period_readiness

    period = dag.timetable.period_of_dag_run(dag_run)
    warehouse, config = _warehouse()
    readiness = period_readiness(warehouse, config, period)
    print(readiness.message)
    return PokeReturnValue(is_done=readiness.ready, xcom_value=period)


@task(**_WAREHOUSE_TASK, outlets=[KPI_ASSET], execution_timeout=TIMEOUT_PERIOD_STEP, map_index_template="{{ chatkpi_period }}")
def compute_kpis(period: Any, outlet_events: Any = None) -> dict[str, Any]:
    """Compute the period's KPIs and replace its rows in ``marts.fct_kpi`` (one transaction)."""
    from kpi_transforms.pipeline.steps import kpi_step

    _mark_map_index("chatkpi_period", _label(period))
    warehouse, config = _warehouse()
    result = kpi_step(warehouse, config, _label(period))
    outlet_events[KPI_ASSET].extra = result
    print(f"period {result['period']}: {result['rows']} KPI rows written to marts.fct_kpi ({result['with_value']} with a value)")
    return result


@task(
    **_WAREHOUSE_TASK, outlets=[SCORECARD_ASSET], execution_timeout=TIMEOUT_PERIOD_STEP, trigger_rule="none_failed",
    map_index_template="{{ chatkpi_period }}",
)
def compute_scorecards(period: Any, outlet_events: Any = None) -> dict[str, Any]:
    """Score every template from the period's KPIs; replace its ``marts.fct_scorecard`` rows.
    Runs after the audit sample where there is one (a month's skipped sample does not stop it)."""
    from kpi_transforms.pipeline.steps import scorecard_step

    _mark_map_index("chatkpi_period", _label(period))
    warehouse, config = _warehouse()
    result = scorecard_step(warehouse, config, _label(period))
    outlet_events[SCORECARD_ASSET].extra = result
    print(f"period {result['period']}: {result['rows']} scorecard rows ({', '.join(result['templates'])})")
    return result


@task(**_WAREHOUSE_TASK, outlets=[AUDIT_SAMPLE_ASSET], execution_timeout=TIMEOUT_PERIOD_STEP, map_index_template="{{ chatkpi_period }}")
def draw_audit_sample(period: Any, outlet_events: Any = None) -> dict[str, Any]:
    """Draw the quarter's audit sample (SPEC 10), or keep the stored one; months are skipped."""
    from airflow.exceptions import AirflowSkipException

    from kpi_transforms.pipeline.steps import audit_sample_step

    label = _label(period)
    _mark_map_index("chatkpi_period", label)
    if "Q" not in label.upper():
        raise AirflowSkipException(f"{label}: the audit sample is drawn per quarter (SPEC 10)")
    warehouse, _config = _warehouse()
    result = audit_sample_step(warehouse, label)
    outlet_events[AUDIT_SAMPLE_ASSET].extra = result
    print(f"period {label}: audit sample of {result['threads']} thread(s) " + ("kept (stored earlier)" if result["reused"] else "drawn"))
    return result


@task(
    **_WAREHOUSE_TASK, outlets=[REPORTS_ASSET], execution_timeout=TIMEOUT_PERIOD_STEP, trigger_rule="none_failed",
    map_index_template="{{ chatkpi_period }}",
)
def write_reports(period: Any, outlet_events: Any = None) -> dict[str, Any]:
    """Write the period's scorecard report (HTML, xlsx) and review sheet to the reports folder
    (``$CHATKPI_REPORTS_DIR``); each file is replaced whole."""
    from chatkpi_plugins.runtime import reports_dir
    from kpi_transforms.pipeline.steps import report_step

    _mark_map_index("chatkpi_period", _label(period))
    warehouse, config = _warehouse()
    result = report_step(warehouse, config, _label(period), reports_dir(config))
    outlet_events[REPORTS_ASSET].extra = result
    print(f"period {result['period']}: wrote " + ", ".join(result["paths"]))
    return result


# -- late data ---------------------------------------------------------------------------------


@task(**_WAREHOUSE_TASK, execution_timeout=TIMEOUT_SCAN)
def find_stale_periods(triggering_asset_events: Any = None) -> list[str]:
    """The computed periods whose facts a batch committed after their KPIs changed (late
    data), oldest first; the triggering load events are logged with the periods they name."""
    from kpi_transforms.pipeline.readiness import stale_periods

    for asset, events in (triggering_asset_events or {}).items():
        for event in events:
            extra = getattr(event, "extra", None) or {}
            print(f"triggered by {getattr(asset, 'uri', asset)}: batch {extra.get('batch_id')}, periods {extra.get('periods')}")
    warehouse, _config = _warehouse()
    stale = stale_periods(warehouse)
    print(f"{len(stale)} period(s) to recompute: {', '.join(stale) or '-'}")
    return stale
