-- Scorecards (SPEC 9) and the audit sample with its validations (SPEC 10).
-- fct_scorecard is replaced per template and period (delete + insert in one transaction);
-- audit.sample per period (kept until a re-sample is asked for); audit.validation is merged
-- row by row on (period, agent_id, thread_id), so importing the same sheet twice changes nothing.

create table if not exists marts.fct_scorecard (
    template        varchar   not null,
    period_type     varchar   not null,
    period_start    date      not null,
    agent_id        varchar,
    kpi_code        varchar   not null,
    direction       varchar   not null,
    unit            varchar,
    value           double precision,
    target          double precision not null,
    cap_pct         double precision not null,
    achievement_pct double precision,
    weight          double precision not null,
    weighted_score  double precision,
    note            varchar,
    computed_at     timestamptz not null
);
comment on table marts.fct_scorecard is 'One row per scorecard template, period, agent (null = the whole team) and KPI of the template (SPEC 9). Totals: sum(weighted_score) in points, and as a percentage of sum(weight) over the rows whose value is not null (bi.v_scorecard_total).';
comment on column marts.fct_scorecard.template is 'Scorecard template name (kpi_transforms/scorecard_templates.yaml): customer_relations_officer | sales_chat | a custom one.';
comment on column marts.fct_scorecard.period_type is 'month | quarter.';
comment on column marts.fct_scorecard.period_start is 'First local date of the period.';
comment on column marts.fct_scorecard.agent_id is 'Agent scored; null for the team scorecard.';
comment on column marts.fct_scorecard.kpi_code is 'KPI of the template (marts.fct_kpi.kpi_code).';
comment on column marts.fct_scorecard.direction is 'higher (achievement = value / target) | lower (achievement = target / value; a value of 0 earns the cap).';
comment on column marts.fct_scorecard.unit is 'Unit of value and target: seconds | percent | count (as in marts.fct_kpi).';
comment on column marts.fct_scorecard.value is 'KPI value from marts.fct_kpi; null when the KPI has no data for the period (see note).';
comment on column marts.fct_scorecard.target is 'Target for this period type, in the unit of value (prorated targets already divided: 5 a year = 1.25 a quarter).';
comment on column marts.fct_scorecard.cap_pct is 'Highest achievement_pct the KPI can earn (default 100).';
comment on column marts.fct_scorecard.achievement_pct is 'value / target (higher is better) or target / value (lower is better) in percent, floored at 0 and capped at cap_pct; null without data.';
comment on column marts.fct_scorecard.weight is 'Weight of the KPI in the template (points the KPI is worth at full (100) achievement).';
comment on column marts.fct_scorecard.weighted_score is 'achievement_pct * weight / 100, in points; null without data.';
comment on column marts.fct_scorecard.note is 'Why the value is missing (the marts.fct_kpi note, or that no KPI row exists), else null.';
comment on column marts.fct_scorecard.computed_at is 'When the scorecard was computed (UTC).';

create table if not exists audit.sample (
    period           varchar   not null,
    period_type      varchar   not null,
    period_start     date      not null,
    agent_id         varchar   not null,
    thread_id        varchar   not null,
    rank             bigint    not null,
    sort_key         varchar   not null,
    population_size  bigint    not null,
    method           varchar   not null,
    sampled_at       timestamptz not null,
    primary key (period, agent_id, thread_id)
);
comment on table audit.sample is 'Threads drawn for the Head of Marketing''s review (SPEC 10, seed 001): per period and agent the 10 threads with the smallest sha256(period|agent_id|thread_id), all if fewer. Reused until a re-sample is asked for.';
comment on column audit.sample.period is 'Period label: 2025-Q1 (quarter) or 2025-03 (month).';
comment on column audit.sample.period_type is 'month | quarter.';
comment on column audit.sample.period_start is 'First local date of the period.';
comment on column audit.sample.agent_id is 'Agent whose threads were sampled (the threads'' primary agent).';
comment on column audit.sample.thread_id is 'Sampled thread (marts.fct_thread).';
comment on column audit.sample.rank is '1 = smallest sort_key; the order of the review sheet.';
comment on column audit.sample.sort_key is 'sha256 hex of period|agent_id|thread_id: reproducible, and stable as data grows.';
comment on column audit.sample.population_size is 'Threads in the agent''s population: channel in the sampled channels, primary agent = agent_id, a customer queue in the period.';
comment on column audit.sample.method is 'How the sample was drawn, incl. channels and sample size.';
comment on column audit.sample.sampled_at is 'When the sample was drawn (UTC).';

create table if not exists audit.validation (
    period         varchar   not null,
    agent_id       varchar   not null,
    thread_id      varchar   not null,
    approved       boolean   not null,
    notes          varchar,
    reviewed_at    timestamptz not null,
    sheet_sha256   varchar   not null,
    primary key (period, agent_id, thread_id)
);
comment on table audit.validation is 'Review decisions of the Head of Marketing imported from the review sheet (chatkpi audit import): one row per reviewed sampled thread. Rows whose decision and notes are unchanged are kept as they are on re-import.';
comment on column audit.validation.period is 'Period label of the sample (audit.sample.period).';
comment on column audit.validation.agent_id is 'Agent of the sampled thread.';
comment on column audit.validation.thread_id is 'Sampled thread.';
comment on column audit.validation.approved is 'Disetujui: true = Ya (the reply meets the company standard), false = Tidak.';
comment on column audit.validation.notes is 'Catatan: the reviewer''s notes, if any.';
comment on column audit.validation.reviewed_at is 'When this decision was first imported (UTC).';
comment on column audit.validation.sheet_sha256 is 'sha256 of the .xlsx file the decision came from.';
