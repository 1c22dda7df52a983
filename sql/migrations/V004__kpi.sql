-- KPI values per period and agent (SPEC 8). A period is recomputed by delete + insert.

create table if not exists marts.fct_kpi (
    kpi_code      varchar   not null,
    period_type   varchar   not null,
    period_start  date      not null,
    agent_id      varchar,
    value         double precision,
    unit          varchar   not null,
    basis_count   bigint    not null,
    note          varchar,
    computed_at   timestamptz not null
);
comment on table marts.fct_kpi is 'One row per KPI, period and agent (agent_id null = the whole team). Raw values: seconds, percent 0-100, counts; targets are applied only by scorecards.';
comment on column marts.fct_kpi.kpi_code is 'KPI code of SPEC 8 (e.g. frt_avg, response_rate_1wd).';
comment on column marts.fct_kpi.period_type is 'month | quarter.';
comment on column marts.fct_kpi.period_start is 'First local date of the period.';
comment on column marts.fct_kpi.agent_id is 'Agent the value belongs to; null for the team row.';
comment on column marts.fct_kpi.value is 'Raw value; null when there is no data (see note).';
comment on column marts.fct_kpi.unit is 'seconds | percent | count.';
comment on column marts.fct_kpi.basis_count is 'Number of facts the value rests on (pairs, queues, threads).';
comment on column marts.fct_kpi.note is 'Why a value is null, or what was left out (pending queues).';
comment on column marts.fct_kpi.computed_at is 'When the period was computed (UTC).';
