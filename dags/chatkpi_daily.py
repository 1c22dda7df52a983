"""# chatkpi_daily

New landing files in; deduplicated messages, reply pairs and threads in the warehouse out.
Grain: one ingest batch per run (`audit.batch`), one row per message in `marts.fct_message`.

Every day at 01:00 Asia/Jakarta, for the previous day (data interval 01:00 to 01:00 local):

0. `plan_extract` → `extract_source` (when the config has an `extract:` section;
   docs/OPERATIONS.md, "Extracting from IMAP, object storage and the WhatsApp Business
   Platform"): one mapped task per IMAP folder / S3 source (named `imap sales/INBOX`), at most
   `$CHATKPI_EXTRACT_CONCURRENCY` (2) at once, lands new mail and objects in the extract folder
   from the committed checkpoints and leaves its proposed checkpoints pending. A failing source
   fails its own task (log line `extract <unit>: FAILED: …`, failure alert); the other sources,
   the scan and the load go on. Credentials: the Airflow connection `chatkpi_imap_<name>` /
   `chatkpi_s3_<name>` (or the source's `conn_id`), else the environment variables it names.
   Each source is extracted under its lock (`<extract>/.chatkpi-extract/locks/`): a task whose
   source another run is extracting waits up to `$CHATKPI_EXTRACT_LOCK_WAIT` s (3600), then fails.
1. `find_new_files` (runs whatever the extract tasks did): the files of the landing folder whose content the warehouse has not seen
   (landing folder: Variable `chatkpi_landing_dir`, else `$CHATKPI_LANDING_DIR`, else the
   config's `landing_dir`, read when the task runs). Records the scan in
   `audit.landing_scan`; a scan with nothing new moves the data horizon at once.
2. `stage_file`: mapped, one task per file (named after the file; `(rejected: reason)` when it
   cannot be used), at most `$CHATKPI_STAGE_CONCURRENCY` (2) at once; parses it into this run's
   stage folder `<lake>/_stage/<run_id>/` (or `$CHATKPI_STAGE_DIR/<run_id>/`) without touching
   the warehouse.
3. `load_batch`: one transaction: manifest, quarantine, new messages, facts rebuilt for the
   threads that received messages; completes the scan (the data horizon moves); publishes the
   Assets `x-chatkpi://warehouse/marts.fct_message`, `.../marts.fct_reply_pair`,
   `.../marts.fct_thread` with the batch id, counts and the periods whose facts changed
   (`chatkpi_recompute` listens); removes the stage folder. Rejected files raise a warning.
   The pending extraction checkpoints whose files the batch holds are written in the same
   transaction: a failed load leaves them where they were, and the next run extracts again.
4. `retrain_intents`: retrains the intent model on the shipped corpus plus this installation's
   labels and stores it as the active version; skipped in a second when the labels are those of
   the active model. Runs also when the load was skipped.
5. `prune_landed` (after the load committed, or was skipped): the retention of extracted files;
   deletes those whose content was loaded more than `extract.keep_landed_days` days ago (never
   one not loaded, quarantined or named by a pending extraction), each source under its lock.
   Nothing when no retention is configured.
6. `alert_breaches`: the customer queues open past their 1-working-day deadline now, by e-mail
   (connection `chatkpi_smtp`) and / or webhook (connection `chatkpi_breach_webhook`), with
   the report link of Variable `chatkpi_report_url`; nothing is sent when nothing waits. Runs
   also when the load was skipped.

Re-running, retrying or clearing any task is safe: files are recognised by content hash, so a
re-run finds nothing new, and a retried `load_batch` whose batch committed loads nothing. A day
without new files ends green with the mapped and load tasks skipped. Catch-up is off: one run
picks up everything that landed since the last one.
"""

from __future__ import annotations

import datetime as dt

import pendulum
from airflow.sdk import CronDataIntervalTimetable, dag
from chatkpi_plugins.callbacks import on_failure_callback
from chatkpi_plugins.tasks import (
    alert_breaches,
    extract_source,
    find_new_files,
    load_batch,
    plan_extract,
    prune_landed,
    retrain_intents,
    stage_file,
)


@dag(
    schedule=CronDataIntervalTimetable("0 1 * * *", timezone="Asia/Jakarta"),
    start_date=pendulum.datetime(2025, 1, 1, tz="Asia/Jakarta"),
    catchup=False,
    max_active_runs=1,
    tags=["chatkpi", "ingest"],
    default_args={"owner": "data-engineering", "retries": 2, "retry_delay": dt.timedelta(minutes=5),
                  "on_failure_callback": on_failure_callback},
    doc_md=__doc__,
)
def chatkpi_daily():
    extracted = extract_source.expand(unit=plan_extract())
    files = find_new_files()
    extracted >> files
    staged = stage_file.expand(path=files)
    loaded = load_batch(staged)
    retrain_intents(loaded)
    alert_breaches(loaded)
    prune_landed(loaded)


chatkpi_daily()
