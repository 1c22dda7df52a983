-- Conversations as a fact table (issue 13 item 2, issue 17 item 1): the conversations of issue 19
-- (AHT, ART, FCR, abandonment, cost per contact) are built once, in the fact build
-- (kpi_transforms/facts/conversations.py), and stored here; the KPI step reads them. The SLA
-- compliance flag of each customer queue is stored on marts.fct_reply_pair the same way. BI views
-- list the facts the report's figures count, with the same keys: bi.v_conversations, bi.v_cases,
-- bi.v_quote_responses; customers masked as in bi.v_reply_pairs (V016).
-- Comments of marts tables come from kpi_transforms/core/contracts (Warehouse.init).
-- Rows of a warehouse built before this migration: the next ingest rebuilds every thread whose
-- queues have no conversation or no SLA flag yet (kpi_transforms.pipeline.facts.rebuild_facts).

create table if not exists marts.fct_conversation (
    conversation_id              varchar     not null,
    thread_id                    varchar     not null,
    channel                      varchar     not null,
    customer_id                  varchar,
    agent_id                     varchar,
    intent                       varchar     not null,
    started_at                   timestamptz not null,
    started_at_local             timestamp   not null,
    first_reply_at               timestamptz,
    resolved_at                  timestamptz,
    last_message_at              timestamptz not null,
    status                       varchar     not null,
    handle_seconds               bigint,
    resolution_business_seconds  bigint,
    is_fcr                       boolean,
    is_abandoned                 boolean
);
-- no key or index, as the other fact tables: the gate checks one row per conversation_id

alter table marts.fct_reply_pair add column if not exists is_within_sla boolean;

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
           intent, intent_source, intent_confidence, is_within_sla
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
           p.intent_confidence,
           p.is_within_sla  -- V024: sla_compliance_rate's flag, stored by the fact build
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
comment on column bi.v_reply_pairs.is_within_sla is 'sla_compliance_rate: answered within its channel''s first-reply target (kpis.sla_minutes, working minutes) = true; a miss (answered later, or unanswered past the target) = false; not counted (invalid, closed period, still inside the target) = null.';

-- bi.v_conversations ----------------------------------------------------------------------------
create or replace view bi.v_conversations as
with mask as (
    select mask_key from audit.bi_mask_key
),
threads as (
    select thread_id, thread_name from bi.v_threads
),
final as (
    select c.conversation_id,
           c.thread_id,
           t.thread_name,
           c.channel,
           left({{sha256(m.mask_key || '|' || c.customer_id)}}, 16) as customer_key,
           c.agent_id,
           c.intent,
           c.started_at,
           c.started_at_local,
           cast(date_trunc('month', c.started_at_local) as date) as month_start,
           cast(date_trunc('quarter', c.started_at_local) as date) as quarter_start,
           c.first_reply_at,
           c.resolved_at,
           c.last_message_at,
           c.status,
           c.handle_seconds,
           c.resolution_business_seconds,
           c.is_fcr,
           c.is_abandoned
    from marts.fct_conversation c
    cross join mask m
    left join threads t on t.thread_id = c.thread_id
)
select * from final;
comment on view bi.v_conversations is 'One row per conversation (marts.fct_conversation) with the customer masked: the rows aht_*, art_*, fcr_rate, abandonment_rate and cost_per_contact count (docs/DECISIONS.md, issue 19).';
comment on column bi.v_conversations.conversation_id is 'Conversation key: the message_id of its first customer message.';
comment on column bi.v_conversations.thread_id is 'Thread of the conversation; its transcript is bi.v_transcript.';
comment on column bi.v_conversations.thread_name is 'Masked thread name (bi.v_threads.thread_name).';
comment on column bi.v_conversations.channel is 'whatsapp | email | marketplace | other.';
comment on column bi.v_conversations.customer_key is 'Masked customer (as bi.v_threads.customer_key).';
comment on column bi.v_conversations.agent_id is 'Agent of the first human reply; without a reply the thread''s primary agent.';
comment on column bi.v_conversations.intent is 'Intent of its first queue (none = other): the issue of FCR and aht_avg_<intent>.';
comment on column bi.v_conversations.started_at is 'First customer message (UTC).';
comment on column bi.v_conversations.started_at_local is 'The same, local time.';
comment on column bi.v_conversations.month_start is 'First local date of the month it started in (its period).';
comment on column bi.v_conversations.quarter_start is 'First local date of the quarter it started in.';
comment on column bi.v_conversations.first_reply_at is 'First human agent message after the start (UTC); null if none.';
comment on column bi.v_conversations.resolved_at is 'Last human agent message, resolved conversations only (UTC).';
comment on column bi.v_conversations.last_message_at is 'Last customer or agent message (UTC).';
comment on column bi.v_conversations.status is 'open | resolved | unanswered.';
comment on column bi.v_conversations.handle_seconds is 'AHT measure (resolved only): active handling seconds.';
comment on column bi.v_conversations.resolution_business_seconds is 'ART measure (resolved only): working seconds from start to resolution.';
comment on column bi.v_conversations.is_fcr is 'FCR: resolved and the customer did not come back on the same issue within kpis.fcr_days; null while pending or not resolved.';
comment on column bi.v_conversations.is_abandoned is 'Unanswered and the customer neither came back nor ordered within kpis.abandon_days; null while pending or not unanswered.';

-- bi.v_cases ------------------------------------------------------------------------------------
create or replace view bi.v_cases as
with mask as (
    select mask_key from audit.bi_mask_key
),
threads as (
    select thread_id, thread_name, channel from bi.v_threads
),
final as (
    select c.case_id,
           c.thread_id,
           t.thread_name,
           t.channel,
           left({{sha256(m.mask_key || '|' || c.customer_id)}}, 16) as customer_key,
           c.agent_id,
           c.category,
           c.opened_at,
           c.opened_at_local,
           cast(date_trunc('month', c.opened_at_local) as date) as month_start,
           cast(date_trunc('quarter', c.opened_at_local) as date) as quarter_start,
           c.first_response_at,
           c.first_response_business_seconds,
           c.resolved_at,
           c.resolution_source,
           c.resolution_business_seconds,
           c.closed_at,
           c.status,
           c.is_repeat,
           c.is_in_closed_period
    from marts.fct_case c
    cross join mask m
    left join threads t on t.thread_id = c.thread_id
)
select * from final;
comment on view bi.v_cases is 'One row per complaint case (marts.fct_case) with the customer masked and its thread''s channel: the rows complaint_response_*, complaint_resolution_*, repeat_complaint_rate and issues_<category> count.';
comment on column bi.v_cases.case_id is 'Case key: the pair_id of the complaint queue that opened it.';
comment on column bi.v_cases.thread_id is 'Thread of the case; its transcript is bi.v_transcript.';
comment on column bi.v_cases.thread_name is 'Masked thread name (bi.v_threads.thread_name).';
comment on column bi.v_cases.channel is 'Channel of the thread: whatsapp | email | marketplace | other.';
comment on column bi.v_cases.customer_key is 'Masked customer (as bi.v_threads.customer_key).';
comment on column bi.v_cases.agent_id is 'Agent of the opening queue (its first responder, else the thread''s primary agent).';
comment on column bi.v_cases.category is 'kurang | rusak | salah_kirim | telat | lainnya.';
comment on column bi.v_cases.opened_at is 'When the opening complaint was asked (UTC).';
comment on column bi.v_cases.opened_at_local is 'The same, local time.';
comment on column bi.v_cases.month_start is 'First local date of the month it opened in (its period).';
comment on column bi.v_cases.quarter_start is 'First local date of the quarter it opened in.';
comment on column bi.v_cases.first_response_at is 'First human agent reply after opening (UTC).';
comment on column bi.v_cases.first_response_business_seconds is 'complaint_response_* measure: working seconds to the first response.';
comment on column bi.v_cases.resolved_at is 'When it was resolved (UTC).';
comment on column bi.v_cases.resolution_source is 'agent_phrase | customer_confirmation | manual | unresolved.';
comment on column bi.v_cases.resolution_business_seconds is 'complaint_resolution_* measure: working seconds to the resolution.';
comment on column bi.v_cases.closed_at is 'resolved_at, or the 30-day close of an unresolved case.';
comment on column bi.v_cases.status is 'open | resolved | unresolved.';
comment on column bi.v_cases.is_repeat is 'Repeat of a case of the same customer and category within 30 x 24 h.';
comment on column bi.v_cases.is_in_closed_period is 'Opened inside a closed period: left out of complaint_response_*.';

-- bi.v_quote_responses --------------------------------------------------------------------------
create or replace view bi.v_quote_responses as
with mask as (
    select mask_key from audit.bi_mask_key
),
threads as (
    select thread_id, thread_name, channel from bi.v_threads
),
final as (
    select q.pair_id,
           q.thread_id,
           t.thread_name,
           t.channel,
           left({{sha256(m.mask_key || '|' || q.customer_id)}}, 16) as customer_key,
           q.agent_id,
           q.question_at,
           q.question_at_local,
           cast(date_trunc('month', q.question_at_local) as date) as month_start,
           cast(date_trunc('quarter', q.question_at_local) as date) as quarter_start,
           q.quote_message_id,
           q.quote_at,
           q.calendar_seconds,
           q.business_seconds,
           q.is_in_closed_period
    from marts.fct_quote_response q
    cross join mask m
    left join threads t on t.thread_id = q.thread_id
)
select * from final;
comment on view bi.v_quote_responses is 'One row per quote request (marts.fct_quote_response) with the customer masked and its thread''s channel: the rows quote_response_* count.';
comment on column bi.v_quote_responses.pair_id is 'Key of the quote-request queue (bi.v_reply_pairs.pair_id).';
comment on column bi.v_quote_responses.thread_id is 'Thread of the request; its transcript is bi.v_transcript.';
comment on column bi.v_quote_responses.thread_name is 'Masked thread name (bi.v_threads.thread_name).';
comment on column bi.v_quote_responses.channel is 'Channel of the thread: whatsapp | email | marketplace | other.';
comment on column bi.v_quote_responses.customer_key is 'Masked customer (as bi.v_threads.customer_key).';
comment on column bi.v_quote_responses.agent_id is 'Agent who sent the quote; without one the agent of the queue.';
comment on column bi.v_quote_responses.question_at is 'When the request started (UTC).';
comment on column bi.v_quote_responses.question_at_local is 'The same, local time.';
comment on column bi.v_quote_responses.month_start is 'First local date of the month of the request (its period).';
comment on column bi.v_quote_responses.quarter_start is 'First local date of the quarter of the request.';
comment on column bi.v_quote_responses.quote_message_id is 'The agent message carrying the quote; null if none yet.';
comment on column bi.v_quote_responses.quote_at is 'When the quote was sent (UTC).';
comment on column bi.v_quote_responses.calendar_seconds is 'Calendar seconds from request to quote.';
comment on column bi.v_quote_responses.business_seconds is 'quote_response_* measure: working seconds from request to quote.';
comment on column bi.v_quote_responses.is_in_closed_period is 'Asked inside a closed period: left out of quote_response_*.';
