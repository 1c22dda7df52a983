-- Results of the data-quality gate (SPEC 12): one row per expectation checked per batch.
-- Rows of a failed gate are written in a transaction of their own after the batch rolled back,
-- so the reason survives; rows of a passed gate commit together with the batch.

create table if not exists audit.dq_result (
    batch_id          varchar   not null,
    suite             varchar   not null,
    expectation       varchar   not null,
    column_name       varchar,
    success           boolean   not null,
    unexpected_count  bigint,
    sample            varchar,
    checked_at        timestamptz not null
);
comment on table audit.dq_result is 'One row per Great Expectations expectation checked by the data-quality gate per ingest batch (suites in expectations/). A batch with a failed row did not load.';
comment on column audit.dq_result.batch_id is 'Ingest batch checked (audit.batch.batch_id when the batch committed; a failed batch has no audit.batch row).';
comment on column audit.dq_result.suite is 'Expectation suite: stg_message | file_manifest | fct_reply_pair | fct_thread.';
comment on column audit.dq_result.expectation is 'Expectation type, e.g. expect_column_values_to_be_unique.';
comment on column audit.dq_result.column_name is 'Column(s) checked, comma-separated for pair expectations; null for table-level expectations.';
comment on column audit.dq_result.success is 'True when the expectation held for the whole batch.';
comment on column audit.dq_result.unexpected_count is 'Rows that broke the expectation (null for table-level expectations).';
comment on column audit.dq_result.sample is 'JSON: up to 5 offending rows (values plus identifying columns), or observed vs expected for table-level expectations.';
comment on column audit.dq_result.checked_at is 'When the gate ran (UTC).';
