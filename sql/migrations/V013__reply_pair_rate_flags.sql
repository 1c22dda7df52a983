-- One definition of the response-rate denominators (issue 13): the flags are computed once, in
-- the fact build (kpi_transforms/facts/reply_pairs.py, rate_flags), and stored on
-- marts.fct_reply_pair; KPIs, reports and bi.v_reply_pairs read them and recompute nothing.
-- Nullable on both engines (DuckDB adds no column with a constraint); the fact build always
-- fills them and the quality gate checks they are not null.

alter table marts.fct_reply_pair add column if not exists is_counted_1wd boolean;
alter table marts.fct_reply_pair add column if not exists is_pending_1wd boolean;
alter table marts.fct_reply_pair add column if not exists is_counted_24h boolean;
alter table marts.fct_reply_pair add column if not exists is_pending_24h boolean;
comment on column marts.fct_reply_pair.is_counted_1wd is 'In the denominator of response_rate_1wd: answered and valid, or unanswered past its deadline at the data horizon (question not in a closed period).';
comment on column marts.fct_reply_pair.is_pending_1wd is 'Unanswered, not in a closed period, one-working-day deadline not passed at the data horizon: reported beside the rate, not in it.';
comment on column marts.fct_reply_pair.is_counted_24h is 'In the denominator of response_rate_24h: answered and valid, or unanswered 24 hours past the question at the data horizon (not in a closed period).';
comment on column marts.fct_reply_pair.is_pending_24h is 'Unanswered, not in a closed period, 24 hours not passed at the data horizon.';

-- Rows stored before this migration: filled once here with the rule of rate_flags (the same
-- expressions bi.v_reply_pairs held until now); every later rebuild writes them from Python.
update marts.fct_reply_pair set
    is_counted_1wd = (status = 'answered' and is_valid)
                     or (status = 'unanswered' and not is_in_closed_period and within_1_working_day is not null),
    is_pending_1wd = status = 'unanswered' and not is_in_closed_period and within_1_working_day is null,
    is_counted_24h = (status = 'answered' and is_valid)
                     or (status = 'unanswered' and not is_in_closed_period and within_24h is not null),
    is_pending_24h = status = 'unanswered' and not is_in_closed_period and within_24h is null
where is_counted_1wd is null;

-- bi.v_reply_pairs reads the stored flags (same columns, same order as V009; comments restated
-- because DuckDB drops them when a view is replaced).
create or replace view bi.v_reply_pairs as
with mask as (
    select mask_key from audit.bi_mask_key
),
pairs as (
    select pair_id, thread_id, channel, customer_id, agent_id, question_at, question_at_local, n_customer_messages,
           effective_start_at, first_auto_reply_at, reply_at, calendar_seconds, business_seconds, sla_deadline_at,
           within_24h, within_1_working_day, status, is_valid, is_in_closed_period,
           is_counted_1wd, is_pending_1wd, is_counted_24h, is_pending_24h
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
           p.is_counted_1wd,
           p.is_pending_1wd,
           p.is_counted_24h,
           p.is_pending_24h
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
