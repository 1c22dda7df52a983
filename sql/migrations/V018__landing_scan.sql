-- The data horizon (docs/DECISIONS.md, "Data horizon"): one row per scan of the landing folder
-- by chatkpi_daily. A scan is complete when everything it found is committed (loaded, rejected
-- or already known); the latest complete scan's scanned_at is the horizon up to which the
-- warehouse holds every file that had landed. Monthly / quarterly KPI runs wait for it.

create table if not exists audit.landing_scan (
    scan_id      varchar     not null primary key,
    run_id       varchar,
    landing_dir  varchar     not null,
    scanned_at   timestamptz not null,
    files_new    bigint      not null,
    files_known  bigint      not null,
    status       varchar     not null,
    batch_id     varchar,
    completed_at timestamptz
);
comment on table audit.landing_scan is 'One row per scan of the landing folder (chatkpi_daily find_new_files). The latest complete scan''s scanned_at is the data horizon: every file that had landed by then is committed.';
comment on column audit.landing_scan.scan_id is 'Scan id (uuid).';
comment on column audit.landing_scan.run_id is 'Airflow run that scanned (null outside Airflow).';
comment on column audit.landing_scan.landing_dir is 'Folder scanned.';
comment on column audit.landing_scan.scanned_at is 'When the folder was listed (UTC).';
comment on column audit.landing_scan.files_new is 'Files whose content the warehouse had not seen.';
comment on column audit.landing_scan.files_known is 'Files already processed (same sha256).';
comment on column audit.landing_scan.status is 'pending (new files found, not committed yet) | complete (nothing new, or the new files committed).';
comment on column audit.landing_scan.batch_id is 'Ingest batch that committed the new files (audit.batch.batch_id); null when nothing was new.';
comment on column audit.landing_scan.completed_at is 'When the scan became complete (UTC).';
