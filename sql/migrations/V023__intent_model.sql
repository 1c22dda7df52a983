-- Intent of each customer queue from the learned model (issue 14; docs/DECISIONS.md, "Issue 14").
-- fct_reply_pair gains what decided the intent and how sure the model is; the model versions
-- trained by `chatkpi intents train` are kept in marts.intent_model_version (the fact build
-- uses the active one, else the model shipped in the package); bi.v_reply_pairs shows the three
-- intent columns (re-created with them appended at the end, which PostgreSQL allows).

alter table marts.fct_reply_pair add column if not exists intent_source varchar;
alter table marts.fct_reply_pair add column if not exists intent_confidence double precision;
comment on column marts.fct_reply_pair.intent is 'complaint | quote_request | order | other of the queue (all its customer messages): a row of marts.manual_intent_label wins, then a strong keyword override of the intent model, then the intent model (see intent_source).';
comment on column marts.fct_reply_pair.intent_source is 'manual (marts.manual_intent_label) | rule (a strong keyword override of kpi_transforms.facts.intent_model, or its negation guard) | model (the linear text model''s most probable intent).';
comment on column marts.fct_reply_pair.intent_confidence is 'The intent model''s calibrated probability of the stored intent (0..1; 1 for a manual label). Below 0.6 the queue is listed for review (chatkpi intents review).';

-- Pairs built before this migration carry the keyword-rule intent until their thread is
-- rebuilt: say so rather than leave the source empty.
update marts.fct_reply_pair set intent_source = case
        when exists (select 1 from marts.manual_intent_label l
                     where l.question_message_id = marts.fct_reply_pair.question_message_id
                        or (l.question_message_id is null and l.thread_id = marts.fct_reply_pair.thread_id)) then 'manual'
        else 'rule' end
where intent is not null and intent_source is null;

create table if not exists marts.intent_model_version (
    version         varchar          not null primary key,
    created_at      timestamptz      not null,
    is_active       boolean          not null,
    n_corpus        bigint           not null,
    n_manual        bigint           not null,
    n_review        bigint           not null,
    n_dev           bigint           not null,
    labels_sha256   varchar          not null,
    accuracy        double precision not null,
    dev_scores      varchar          not null,
    model_base64    varchar          not null
);
comment on table marts.intent_model_version is 'One row per intent model trained by chatkpi intents train (or the daily DAG). The fact build classifies with the active row''s model, else with the model shipped in the package. At most one row is active.';
comment on column marts.intent_model_version.version is 'First 16 hex of the sha256 of the model bytes.';
comment on column marts.intent_model_version.created_at is 'When it was trained and stored (UTC).';
comment on column marts.intent_model_version.is_active is 'The model the fact build uses (the latest trained).';
comment on column marts.intent_model_version.n_corpus is 'Queues of the shipped corpus''s train split it was trained on.';
comment on column marts.intent_model_version.n_manual is 'Queues labelled in the installation''s manual intent-label files it was trained on.';
comment on column marts.intent_model_version.n_review is 'Queues whose intent a reviewer confirmed or corrected in the audit review sheet it was trained on (a manual label of the same queue wins).';
comment on column marts.intent_model_version.n_dev is 'Queues of the dev split it was scored on (never trained on).';
comment on column marts.intent_model_version.labels_sha256 is 'sha256 of the installation''s label set (text, intent) and the shipped model''s corpus: the daily retrain is skipped when it equals the active row''s.';
comment on column marts.intent_model_version.accuracy is 'Accuracy on the dev split.';
comment on column marts.intent_model_version.dev_scores is 'JSON: per-class precision, recall, f1, support and the confusion matrix on the dev split.';
comment on column marts.intent_model_version.model_base64 is 'The model bytes (kpi_transforms.facts.intent_model.IntentModel.to_bytes, no pickle), base64: the same text column on DuckDB and PostgreSQL.';

create table if not exists audit.intent_review (
    pair_id       varchar     not null primary key,
    thread_id     varchar     not null,
    period        varchar     not null,
    intent        varchar     not null,
    reviewed_at   timestamptz not null,
    sheet_sha256  varchar     not null
);
comment on table audit.intent_review is 'Intents a reviewer confirmed or corrected in the audit review sheet (chatkpi audit import): one row per reviewed queue; the next chatkpi intents train learns from them (a manual intent label of the same queue wins).';
comment on column audit.intent_review.pair_id is 'The queue (marts.fct_reply_pair.pair_id) shown on the sheet''s row.';
comment on column audit.intent_review.thread_id is 'Its thread.';
comment on column audit.intent_review.period is 'Period label of the audit sample the sheet was for.';
comment on column audit.intent_review.intent is 'complaint | quote_request | order | other as confirmed or corrected by the reviewer.';
comment on column audit.intent_review.reviewed_at is 'When this intent was imported (UTC); kept when a re-import does not change it.';
comment on column audit.intent_review.sheet_sha256 is 'sha256 of the .xlsx file it came from.';

-- bi.v_reply_pairs --------------------------------------------------------------------------
create or replace view bi.v_reply_pairs as
with mask as (
    select mask_key from audit.bi_mask_key
),
pairs as (
    select pair_id, thread_id, channel, customer_id, agent_id, question_at, question_at_local, n_customer_messages,
           effective_start_at, first_auto_reply_at, reply_at, calendar_seconds, business_seconds, sla_deadline_at,
           within_24h, within_1_working_day, status, is_valid, is_in_closed_period,
           is_counted_1wd, is_pending_1wd, is_counted_24h, is_pending_24h,
           intent, intent_source, intent_confidence
    from marts.fct_reply_pair
),
threads as (
    select thread_id, thread_name from bi.v_threads
),
final as (
    select p.pair_id,
           p.thread_id,
           t.thread_name,
           p.channel,
           left({{sha256(m.mask_key || '|' || p.customer_id)}}, 16) as customer_key,
           p.agent_id,
           p.question_at,
           p.question_at_local,
           cast(date_trunc('month', p.question_at_local) as date) as month_start,
           cast(date_trunc('quarter', p.question_at_local) as date) as quarter_start,
           p.n_customer_messages,
           p.effective_start_at,
           p.first_auto_reply_at,
           p.reply_at,
           p.calendar_seconds,
           p.business_seconds,
           p.sla_deadline_at,
           p.within_24h,
           p.within_1_working_day,
           p.status,
           p.is_valid,
           p.is_in_closed_period,
           p.is_counted_1wd,  -- stored by the fact build (V013, issue 13): one definition
           p.is_pending_1wd,
           p.is_counted_24h,
           p.is_pending_24h,
           p.intent,
           p.intent_source,
           p.intent_confidence
    from pairs p
    cross join mask m
    left join threads t on t.thread_id = p.thread_id
)
select * from final;
comment on view bi.v_reply_pairs is 'One row per customer queue (marts.fct_reply_pair) with the customer masked, the month and quarter of the question, and the response-rate flags of SPEC 6.';
comment on column bi.v_reply_pairs.pair_id is 'Queue key: the message_id of its first customer message.';
comment on column bi.v_reply_pairs.thread_id is 'Thread of the queue.';
comment on column bi.v_reply_pairs.thread_name is 'Masked thread name (bi.v_threads.thread_name).';
comment on column bi.v_reply_pairs.channel is 'whatsapp | email | marketplace | other.';
comment on column bi.v_reply_pairs.customer_key is 'Masked customer (as bi.v_threads.customer_key).';
comment on column bi.v_reply_pairs.agent_id is 'Agent who replied; for unanswered queues the thread''s primary agent.';
comment on column bi.v_reply_pairs.question_at is 'When the queue started (UTC).';
comment on column bi.v_reply_pairs.question_at_local is 'When the queue started, local time.';
comment on column bi.v_reply_pairs.month_start is 'First local date of the month of the question (the period the queue belongs to).';
comment on column bi.v_reply_pairs.quarter_start is 'First local date of the quarter of the question.';
comment on column bi.v_reply_pairs.n_customer_messages is 'Customer messages in the queue.';
comment on column bi.v_reply_pairs.effective_start_at is 'Next working instant at or after the question: when the business clock starts.';
comment on column bi.v_reply_pairs.first_auto_reply_at is 'First bot / auto-reply message inside the queue, if any.';
comment on column bi.v_reply_pairs.reply_at is 'First human reply (UTC); null if unanswered.';
comment on column bi.v_reply_pairs.calendar_seconds is 'reply_at - question_at in seconds (nights, weekends, holidays included).';
comment on column bi.v_reply_pairs.business_seconds is 'Working seconds between question and reply.';
comment on column bi.v_reply_pairs.sla_deadline_at is 'The one-working-day deadline.';
comment on column bi.v_reply_pairs.within_24h is 'Answered within 24 calendar hours; null while pending.';
comment on column bi.v_reply_pairs.within_1_working_day is 'Answered by sla_deadline_at; null while pending.';
comment on column bi.v_reply_pairs.status is 'answered | unanswered.';
comment on column bi.v_reply_pairs.is_valid is 'Answered by a human, calendar_seconds >= 0, question not in a closed period.';
comment on column bi.v_reply_pairs.is_in_closed_period is 'Question sent in a closed period or store holiday mode: counts in no rate.';
comment on column bi.v_reply_pairs.is_counted_1wd is 'In the denominator of response_rate_1wd: answered and valid, or unanswered past its deadline (not in a closed period).';
comment on column bi.v_reply_pairs.is_pending_1wd is 'Unanswered, deadline not passed yet: reported beside the rate, not in it.';
comment on column bi.v_reply_pairs.is_counted_24h is 'In the denominator of response_rate_24h.';
comment on column bi.v_reply_pairs.is_pending_24h is 'Unanswered, 24 hours not passed yet.';
comment on column bi.v_reply_pairs.intent is 'complaint | quote_request | order | other (marts.fct_reply_pair.intent).';
comment on column bi.v_reply_pairs.intent_source is 'manual | rule | model: what decided the intent (marts.fct_reply_pair.intent_source).';
comment on column bi.v_reply_pairs.intent_confidence is 'The intent model''s probability of the stored intent, 0..1 (1 for a manual label); below 0.6 the queue is listed by chatkpi intents review.';
