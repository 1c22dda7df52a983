-- BI views (SPEC 13, 14; STYLE "bi.v_<question>"): what Metabase, Superset, Power BI or Excel
-- read. One CTE chain per view ending in `select * from final`; the same SQL on DuckDB and
-- PostgreSQL ({{sha256(x)}} is the only dialect placeholder, see Warehouse._dialect_sql).
--
-- Privacy: no view shows a customer phone number or e-mail address.
--   * customer_id becomes customer_key = the first 16 hex of sha256(mask key | customer_id). The
--     mask key is a random value in audit.bi_mask_key, which BI readers cannot read, so a key
--     cannot be reversed by hashing every phone number.
--   * names and texts: phone numbers become [telepon], e-mail addresses [email]; a name that is
--     nothing but a phone number or address becomes [kontak <8 hex of its keyed hash>].
--   * agent-side senders are shown by their roster id; file names (which carry chat names) are
--     not exposed.
-- Views are listed in dependency order; periods are local dates of the start event (SPEC 8).

create table if not exists audit.bi_mask_key (
    mask_key varchar not null
);
comment on table audit.bi_mask_key is 'Secret mixed into the customer keys of the bi views (one row, random, made by the migration). Not readable by bi_reader.';
comment on column audit.bi_mask_key.mask_key is 'Random text (a uuid); changing it changes every customer_key and contact pseudonym in bi.';
insert into audit.bi_mask_key (mask_key)
select cast(gen_random_uuid() as varchar) where not exists (select 1 from audit.bi_mask_key);

-- bi.v_threads ------------------------------------------------------------------------------
create or replace view bi.v_threads as
with mask as (
    select mask_key from audit.bi_mask_key
),
threads as (
    select thread_id, thread_name, channel, customer_id, primary_agent_id, first_message_at, last_message_at,
           n_messages, n_customer_messages, n_agent_messages, n_bot_messages, n_system_messages,
           n_reply_pairs, n_unanswered, first_response_seconds, first_response_business_seconds, is_new_customer
    from marts.fct_thread
),
masked as (
    select t.*,
           regexp_replace(
               regexp_replace(t.thread_name, '(^|[^0-9.,+])(\+[0-9]{1,3}|62|0)[ .-]?\(?[0-9]{2,4}\)?[ .-]?[0-9]{3,4}[ .-]?[0-9]{3,6}', '\1[telepon]', 'g'),
               '[A-Za-z0-9._+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+', '[email]', 'g') as name_masked,
           {{sha256(m.mask_key || '|' || t.thread_name)}} as name_hash,
           {{sha256(m.mask_key || '|' || t.customer_id)}} as customer_hash
    from threads t
    cross join mask m
),
final as (
    select thread_id,
           case when trim(regexp_replace(name_masked, '\[(telepon|email)\]', '', 'g')) = ''
                then '[kontak ' || left(name_hash, 8) || ']'
                else name_masked end as thread_name,
           channel,
           left(customer_hash, 16) as customer_key,
           primary_agent_id,
           first_message_at,
           last_message_at,
           n_messages,
           n_customer_messages,
           n_agent_messages,
           n_bot_messages,
           n_system_messages,
           n_reply_pairs,
           n_unanswered,
           first_response_seconds,
           first_response_business_seconds,
           is_new_customer
    from masked
)
select * from final;
comment on view bi.v_threads is 'One row per conversation (marts.fct_thread) with the customer masked: customer_key instead of customer_id, phone numbers and e-mail addresses removed from the thread name.';
comment on column bi.v_threads.thread_id is 'Thread key (hash; carries no name).';
comment on column bi.v_threads.thread_name is 'Chat name with phone numbers shown as [telepon] and e-mail addresses as [email]; a name that is only a phone number or address is shown as [kontak <hash>].';
comment on column bi.v_threads.channel is 'whatsapp | email | marketplace | other.';
comment on column bi.v_threads.customer_key is 'Masked customer: 16 hex of a keyed sha256 of customer_id. The same customer has the same key in every bi view.';
comment on column bi.v_threads.primary_agent_id is 'Agent with the most replies that closed a queue in the thread.';
comment on column bi.v_threads.first_message_at is 'First message (UTC).';
comment on column bi.v_threads.last_message_at is 'Last message (UTC).';
comment on column bi.v_threads.n_messages is 'Messages in the thread.';
comment on column bi.v_threads.n_customer_messages is 'Messages by the customer.';
comment on column bi.v_threads.n_agent_messages is 'Messages by human agents.';
comment on column bi.v_threads.n_bot_messages is 'Bot / auto-reply messages.';
comment on column bi.v_threads.n_system_messages is 'System lines.';
comment on column bi.v_threads.n_reply_pairs is 'Customer queues (answered and unanswered).';
comment on column bi.v_threads.n_unanswered is 'Queues without a human reply yet.';
comment on column bi.v_threads.first_response_seconds is 'Calendar seconds from the first queue to its human reply.';
comment on column bi.v_threads.first_response_business_seconds is 'Business seconds from the first queue to its human reply.';
comment on column bi.v_threads.is_new_customer is 'The customer had no earlier thread and no earlier order (SPEC 7).';

-- bi.v_messages -----------------------------------------------------------------------------
create or replace view bi.v_messages as
with mask as (
    select mask_key from audit.bi_mask_key
),
messages as (
    select message_id, thread_id, channel, sent_at, sent_at_local, sender_name, sender_role, agent_id,
           customer_id, is_auto_reply, message_type, text
    from marts.fct_message
),
masked as (
    select msg.*,
           regexp_replace(
               regexp_replace(msg.sender_name, '(^|[^0-9.,+])(\+[0-9]{1,3}|62|0)[ .-]?\(?[0-9]{2,4}\)?[ .-]?[0-9]{3,4}[ .-]?[0-9]{3,6}', '\1[telepon]', 'g'),
               '[A-Za-z0-9._+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+', '[email]', 'g') as sender_masked,
           regexp_replace(
               regexp_replace(msg.text, '(^|[^0-9.,+])(\+[0-9]{1,3}|62|0)[ .-]?\(?[0-9]{2,4}\)?[ .-]?[0-9]{3,4}[ .-]?[0-9]{3,6}', '\1[telepon]', 'g'),
               '[A-Za-z0-9._+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+', '[email]', 'g') as text_masked,
           {{sha256(m.mask_key || '|' || msg.sender_name)}} as sender_hash,
           {{sha256(m.mask_key || '|' || msg.customer_id)}} as customer_hash
    from messages msg
    cross join mask m
),
final as (
    select message_id,
           thread_id,
           channel,
           sent_at,
           sent_at_local,
           sender_role,
           agent_id,
           case when sender_role in ('agent', 'bot') and agent_id is not null then agent_id
                when trim(regexp_replace(sender_masked, '\[(telepon|email)\]', '', 'g')) = ''
                then '[kontak ' || left(sender_hash, 8) || ']'
                else sender_masked end as sender_label,
           left(customer_hash, 16) as customer_key,
           is_auto_reply,
           message_type,
           text_masked as text
    from masked
)
select * from final;
comment on view bi.v_messages is 'One row per message (marts.fct_message) with phone numbers and e-mail addresses masked in sender and text; no file names.';
comment on column bi.v_messages.message_id is 'Message key (deterministic hash).';
comment on column bi.v_messages.thread_id is 'Thread of the message (bi.v_threads).';
comment on column bi.v_messages.channel is 'whatsapp | email | marketplace | other.';
comment on column bi.v_messages.sent_at is 'When the message was sent (UTC).';
comment on column bi.v_messages.sent_at_local is 'When the message was sent, local wall-clock time.';
comment on column bi.v_messages.sender_role is 'customer | agent | bot | system.';
comment on column bi.v_messages.agent_id is 'Roster id of the agent for agent and bot messages, else null.';
comment on column bi.v_messages.sender_label is 'Who wrote it: the agent id for agent-side messages; else the sender name masked like bi.v_threads.thread_name.';
comment on column bi.v_messages.customer_key is 'Masked customer of the thread (as bi.v_threads.customer_key).';
comment on column bi.v_messages.is_auto_reply is 'Greeting / away / quick-reply template or marketplace auto reply.';
comment on column bi.v_messages.message_type is 'text | media | deleted | system | faq_card | welcome_card | ...';
comment on column bi.v_messages.text is 'Message text with phone numbers shown as [telepon] and e-mail addresses as [email].';

-- bi.v_reply_pairs --------------------------------------------------------------------------
create or replace view bi.v_reply_pairs as
with mask as (
    select mask_key from audit.bi_mask_key
),
pairs as (
    select pair_id, thread_id, channel, customer_id, agent_id, question_at, question_at_local, n_customer_messages,
           effective_start_at, first_auto_reply_at, reply_at, calendar_seconds, business_seconds, sla_deadline_at,
           within_24h, within_1_working_day, status, is_valid, is_in_closed_period
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
           (p.status = 'answered' and p.is_valid)
             or (p.status = 'unanswered' and not p.is_in_closed_period and p.within_1_working_day is not null) as is_counted_1wd,
           p.status = 'unanswered' and not p.is_in_closed_period and p.within_1_working_day is null as is_pending_1wd,
           (p.status = 'answered' and p.is_valid)
             or (p.status = 'unanswered' and not p.is_in_closed_period and p.within_24h is not null) as is_counted_24h,
           p.status = 'unanswered' and not p.is_in_closed_period and p.within_24h is null as is_pending_24h
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

-- bi.v_reply_durations ----------------------------------------------------------------------
create or replace view bi.v_reply_durations as
with pairs as (
    select * from bi.v_reply_pairs
),
scoped as (
    select p.*,
           g.period_type,
           case when g.period_type = 'month' then p.month_start else p.quarter_start end as period_start,
           s.is_team,
           case when s.is_team then null else p.agent_id end as scope_agent_id
    from pairs p
    cross join (values ('month'), ('quarter')) as g(period_type)
    cross join (values (true), (false)) as s(is_team)
    where s.is_team or p.agent_id is not null
),
ranked as (
    select v.*,
           row_number() over (partition by period_type, period_start, is_team, scope_agent_id
                              order by calendar_seconds, question_at, pair_id) as fast_rank,
           row_number() over (partition by period_type, period_start, is_team, scope_agent_id
                              order by calendar_seconds desc, question_at, pair_id) as slow_rank
    from scoped v
    where v.is_valid
),
durations as (
    select period_type, period_start, is_team, scope_agent_id,
           count(*) as n_valid_pairs,
           cast(avg(calendar_seconds) as double precision) as avg_calendar_seconds,
           cast(avg(business_seconds) as double precision) as avg_business_seconds,
           cast(percentile_cont(0.5) within group (order by business_seconds) as double precision) as median_business_seconds,
           cast(percentile_cont(0.9) within group (order by business_seconds) as double precision) as p90_business_seconds,
           max(case when fast_rank = 1 then calendar_seconds end) as fastest_seconds,
           max(case when fast_rank = 1 then thread_id end) as fastest_thread_id,
           max(case when fast_rank = 1 then thread_name end) as fastest_thread_name,
           max(case when slow_rank = 1 then calendar_seconds end) as slowest_seconds,
           max(case when slow_rank = 1 then thread_id end) as slowest_thread_id,
           max(case when slow_rank = 1 then thread_name end) as slowest_thread_name
    from ranked
    group by period_type, period_start, is_team, scope_agent_id
),
rates as (
    select period_type, period_start, is_team, scope_agent_id,
           count(*) as n_queues,
           count(*) filter (where is_counted_1wd) as n_counted_queues,
           count(*) filter (where is_counted_1wd and within_1_working_day) as n_within_1_working_day,
           count(*) filter (where is_pending_1wd) as n_pending_queues
    from scoped
    group by period_type, period_start, is_team, scope_agent_id
),
final as (
    select r.period_type,
           r.period_start,
           case when r.period_type = 'month'
                then cast(cast(extract(year from r.period_start) as integer) as varchar) || '-'
                     || lpad(cast(cast(extract(month from r.period_start) as integer) as varchar), 2, '0')
                else cast(cast(extract(year from r.period_start) as integer) as varchar) || '-Q'
                     || cast(cast(extract(quarter from r.period_start) as integer) as varchar) end as period_label,
           r.is_team,
           r.scope_agent_id as agent_id,
           coalesce(d.n_valid_pairs, 0) as n_valid_pairs,
           d.avg_calendar_seconds,
           d.avg_calendar_seconds / 60.0 as avg_calendar_minutes,
           d.avg_business_seconds,
           d.median_business_seconds,
           d.p90_business_seconds,
           d.fastest_seconds,
           d.fastest_thread_id,
           d.fastest_thread_name,
           d.slowest_seconds,
           d.slowest_thread_id,
           d.slowest_thread_name,
           r.n_queues,
           r.n_counted_queues,
           r.n_within_1_working_day,
           cast(100.0 * r.n_within_1_working_day / nullif(r.n_counted_queues, 0) as double precision) as pct_within_1_working_day,
           r.n_pending_queues
    from rates r
    left join durations d
      on d.period_type = r.period_type and d.period_start = r.period_start and d.is_team = r.is_team
     and d.scope_agent_id is not distinct from r.scope_agent_id
)
select * from final;
comment on view bi.v_reply_durations is 'Seed 000 table 1 (Tabel Durasi Balas Sales) per period (month and quarter) for the team (is_team) and per agent: mean calendar reply duration of valid pairs, fastest and slowest pair (ties: earliest question, then pair_id), share answered within one working day.';
comment on column bi.v_reply_durations.period_type is 'month | quarter.';
comment on column bi.v_reply_durations.period_start is 'First local date of the period.';
comment on column bi.v_reply_durations.period_label is '2025-03 (month) or 2025-Q1 (quarter).';
comment on column bi.v_reply_durations.is_team is 'True: the whole team; false: one agent (agent_id).';
comment on column bi.v_reply_durations.agent_id is 'Agent (answered pairs: the replying agent; unanswered: the thread''s primary agent); null on team rows.';
comment on column bi.v_reply_durations.n_valid_pairs is 'Valid reply pairs (answered by a human, not in a closed period).';
comment on column bi.v_reply_durations.avg_calendar_seconds is 'Mean calendar seconds of valid pairs (reply_duration_avg; nights, weekends and holidays included).';
comment on column bi.v_reply_durations.avg_calendar_minutes is 'The same in minutes.';
comment on column bi.v_reply_durations.avg_business_seconds is 'Mean business seconds of valid pairs (frt_avg).';
comment on column bi.v_reply_durations.median_business_seconds is 'Median business seconds of valid pairs (linear interpolation, frt_median).';
comment on column bi.v_reply_durations.p90_business_seconds is '90th percentile of business seconds of valid pairs (frt_p90).';
comment on column bi.v_reply_durations.fastest_seconds is 'Calendar seconds of the fastest valid pair.';
comment on column bi.v_reply_durations.fastest_thread_id is 'Thread of the fastest pair.';
comment on column bi.v_reply_durations.fastest_thread_name is 'Masked name of that thread.';
comment on column bi.v_reply_durations.slowest_seconds is 'Calendar seconds of the slowest valid pair.';
comment on column bi.v_reply_durations.slowest_thread_id is 'Thread of the slowest pair.';
comment on column bi.v_reply_durations.slowest_thread_name is 'Masked name of that thread.';
comment on column bi.v_reply_durations.n_queues is 'All customer queues of the period (answered, unanswered, closed-period).';
comment on column bi.v_reply_durations.n_counted_queues is 'Queues counted in the one-working-day rate (SPEC 6 denominator).';
comment on column bi.v_reply_durations.n_within_1_working_day is 'Counted queues answered within one working day.';
comment on column bi.v_reply_durations.pct_within_1_working_day is 'n_within_1_working_day / n_counted_queues in percent (0-100); null without counted queues.';
comment on column bi.v_reply_durations.n_pending_queues is 'Unanswered queues whose deadline has not passed yet (not in the rate).';

-- bi.v_response_rates -----------------------------------------------------------------------
create or replace view bi.v_response_rates as
with pairs as (
    select * from bi.v_reply_pairs
),
scoped as (
    select p.*,
           g.period_type,
           case when g.period_type = 'month' then p.month_start else p.quarter_start end as period_start,
           s.is_team,
           case when s.is_team then null else p.agent_id end as scope_agent_id
    from pairs p
    cross join (values ('month'), ('quarter')) as g(period_type)
    cross join (values (true), (false)) as s(is_team)
    where s.is_team or p.agent_id is not null
),
counts as (
    select period_type, period_start, is_team, scope_agent_id,
           count(*) as n_queues,
           count(*) filter (where status = 'answered') as n_answered,
           count(*) filter (where status = 'unanswered') as n_unanswered,
           count(*) filter (where is_in_closed_period) as n_in_closed_period,
           count(*) filter (where is_counted_1wd) as n_counted_1wd,
           count(*) filter (where is_counted_1wd and within_1_working_day) as n_within_1wd,
           count(*) filter (where is_pending_1wd) as n_pending_1wd,
           count(*) filter (where is_counted_24h) as n_counted_24h,
           count(*) filter (where is_counted_24h and within_24h) as n_within_24h,
           count(*) filter (where is_pending_24h) as n_pending_24h
    from scoped
    group by period_type, period_start, is_team, scope_agent_id
),
final as (
    select period_type,
           period_start,
           case when period_type = 'month'
                then cast(cast(extract(year from period_start) as integer) as varchar) || '-'
                     || lpad(cast(cast(extract(month from period_start) as integer) as varchar), 2, '0')
                else cast(cast(extract(year from period_start) as integer) as varchar) || '-Q'
                     || cast(cast(extract(quarter from period_start) as integer) as varchar) end as period_label,
           is_team,
           scope_agent_id as agent_id,
           n_queues,
           n_answered,
           n_unanswered,
           n_in_closed_period,
           n_counted_1wd,
           n_within_1wd,
           cast(100.0 * n_within_1wd / nullif(n_counted_1wd, 0) as double precision) as response_rate_1wd_pct,
           n_pending_1wd,
           n_counted_24h,
           n_within_24h,
           cast(100.0 * n_within_24h / nullif(n_counted_24h, 0) as double precision) as response_rate_24h_pct,
           n_pending_24h
    from counts
)
select * from final;
comment on view bi.v_response_rates is 'Response rates per period (month and quarter), team and agent (SPEC 6 and 8: response_rate_1wd, response_rate_24h): answered valid queues plus unanswered queues past their deadline are counted; pending queues are reported beside the rate.';
comment on column bi.v_response_rates.period_type is 'month | quarter.';
comment on column bi.v_response_rates.period_start is 'First local date of the period.';
comment on column bi.v_response_rates.period_label is '2025-03 (month) or 2025-Q1 (quarter).';
comment on column bi.v_response_rates.is_team is 'True: the whole team; false: one agent.';
comment on column bi.v_response_rates.agent_id is 'Agent; null on team rows.';
comment on column bi.v_response_rates.n_queues is 'Customer queues whose question falls in the period.';
comment on column bi.v_response_rates.n_answered is 'Queues answered by a human.';
comment on column bi.v_response_rates.n_unanswered is 'Queues not answered yet.';
comment on column bi.v_response_rates.n_in_closed_period is 'Queues whose question fell in a closed period or store holiday mode (in no rate).';
comment on column bi.v_response_rates.n_counted_1wd is 'Denominator of response_rate_1wd_pct.';
comment on column bi.v_response_rates.n_within_1wd is 'Counted queues answered within one working day.';
comment on column bi.v_response_rates.response_rate_1wd_pct is 'Percent (0-100) of counted queues answered within one working day; null without counted queues.';
comment on column bi.v_response_rates.n_pending_1wd is 'Unanswered queues before their one-working-day deadline (not counted).';
comment on column bi.v_response_rates.n_counted_24h is 'Denominator of response_rate_24h_pct.';
comment on column bi.v_response_rates.n_within_24h is 'Counted queues answered within 24 calendar hours.';
comment on column bi.v_response_rates.response_rate_24h_pct is 'Percent (0-100) of counted queues answered within 24 calendar hours; null without counted queues.';
comment on column bi.v_response_rates.n_pending_24h is 'Unanswered queues younger than 24 hours at the data horizon (not counted).';

-- bi.v_frt_distribution ---------------------------------------------------------------------
create or replace view bi.v_frt_distribution as
with buckets as (
    select * from (values
        (1, '0-5 min', 0, 300),
        (2, '5-15 min', 300, 900),
        (3, '15-30 min', 900, 1800),
        (4, '30-60 min', 1800, 3600),
        (5, '1-2 h', 3600, 7200),
        (6, '2-4 h', 7200, 14400),
        (7, '4-8 h', 14400, 28800),
        (8, '8 h+', 28800, null)
    ) as b(bucket_order, bucket_label, lower_seconds, upper_seconds)
),
valid as (
    select p.*,
           g.period_type,
           case when g.period_type = 'month' then p.month_start else p.quarter_start end as period_start,
           s.is_team,
           case when s.is_team then null else p.agent_id end as scope_agent_id
    from bi.v_reply_pairs p
    cross join (values ('month'), ('quarter')) as g(period_type)
    cross join (values (true), (false)) as s(is_team)
    where p.is_valid and (s.is_team or p.agent_id is not null)
),
groups as (
    select period_type, period_start, is_team, scope_agent_id, count(*) as n_group
    from valid
    group by period_type, period_start, is_team, scope_agent_id
),
counts as (
    select v.period_type, v.period_start, v.is_team, v.scope_agent_id, b.bucket_order, count(*) as n_pairs
    from valid v
    join buckets b
      on v.business_seconds >= b.lower_seconds and (b.upper_seconds is null or v.business_seconds < b.upper_seconds)
    group by v.period_type, v.period_start, v.is_team, v.scope_agent_id, b.bucket_order
),
final as (
    select g.period_type,
           g.period_start,
           case when g.period_type = 'month'
                then cast(cast(extract(year from g.period_start) as integer) as varchar) || '-'
                     || lpad(cast(cast(extract(month from g.period_start) as integer) as varchar), 2, '0')
                else cast(cast(extract(year from g.period_start) as integer) as varchar) || '-Q'
                     || cast(cast(extract(quarter from g.period_start) as integer) as varchar) end as period_label,
           g.is_team,
           g.scope_agent_id as agent_id,
           b.bucket_order,
           b.bucket_label,
           b.lower_seconds,
           b.upper_seconds,
           coalesce(c.n_pairs, 0) as n_pairs,
           cast(100.0 * coalesce(c.n_pairs, 0) / g.n_group as double precision) as pct_of_pairs
    from groups g
    cross join buckets b
    left join counts c
      on c.period_type = g.period_type and c.period_start = g.period_start and c.is_team = g.is_team
     and c.scope_agent_id is not distinct from g.scope_agent_id and c.bucket_order = b.bucket_order
)
select * from final;
comment on view bi.v_frt_distribution is 'Histogram of first-response times (business seconds of valid pairs, FRT Human) per period, team and agent, in fixed buckets; every bucket is listed, empty ones with 0.';
comment on column bi.v_frt_distribution.period_type is 'month | quarter.';
comment on column bi.v_frt_distribution.period_start is 'First local date of the period.';
comment on column bi.v_frt_distribution.period_label is '2025-03 (month) or 2025-Q1 (quarter).';
comment on column bi.v_frt_distribution.is_team is 'True: the whole team; false: one agent.';
comment on column bi.v_frt_distribution.agent_id is 'Replying agent; null on team rows.';
comment on column bi.v_frt_distribution.bucket_order is '1 = fastest bucket; sort by this.';
comment on column bi.v_frt_distribution.bucket_label is 'Bucket, e.g. 5-15 min (lower bound included, upper bound excluded).';
comment on column bi.v_frt_distribution.lower_seconds is 'Lower bound in business seconds (included).';
comment on column bi.v_frt_distribution.upper_seconds is 'Upper bound in business seconds (excluded); null for the last bucket.';
comment on column bi.v_frt_distribution.n_pairs is 'Valid pairs in the bucket.';
comment on column bi.v_frt_distribution.pct_of_pairs is 'Share of the group''s valid pairs in the bucket, percent 0-100.';

-- bi.v_volume_heatmap -----------------------------------------------------------------------
create or replace view bi.v_volume_heatmap as
with messages as (
    select channel, sender_role, sent_at_local,
           cast(date_trunc('month', sent_at_local) as date) as month_start,
           cast(date_trunc('quarter', sent_at_local) as date) as quarter_start
    from marts.fct_message
    where sender_role <> 'system'
),
periods as (
    select m.*,
           g.period_type,
           case when g.period_type = 'month' then m.month_start else m.quarter_start end as period_start,
           cast(extract(isodow from m.sent_at_local) as integer) as weekday_iso,
           cast(extract(hour from m.sent_at_local) as integer) as hour_local
    from messages m
    cross join (values ('month'), ('quarter')) as g(period_type)
),
counts as (
    select period_type, period_start, channel, weekday_iso, hour_local,
           count(*) as n_messages,
           count(*) filter (where sender_role = 'customer') as n_customer_messages,
           count(*) filter (where sender_role = 'agent') as n_agent_messages,
           count(*) filter (where sender_role = 'bot') as n_bot_messages
    from periods
    group by period_type, period_start, channel, weekday_iso, hour_local
),
weekdays as (
    select * from (values
        (1, 'Senin', 'Monday'), (2, 'Selasa', 'Tuesday'), (3, 'Rabu', 'Wednesday'), (4, 'Kamis', 'Thursday'),
        (5, 'Jumat', 'Friday'), (6, 'Sabtu', 'Saturday'), (7, 'Minggu', 'Sunday')
    ) as w(weekday_iso, weekday_name_id, weekday_name_en)
),
grid as (
    select distinct c.period_type, c.period_start, c.channel, w.weekday_iso, w.weekday_name_id, w.weekday_name_en, h.hour_local
    from counts c
    cross join weekdays w
    cross join generate_series(0, 23) as h(hour_local)
),
final as (
    select g.period_type,
           g.period_start,
           case when g.period_type = 'month'
                then cast(cast(extract(year from g.period_start) as integer) as varchar) || '-'
                     || lpad(cast(cast(extract(month from g.period_start) as integer) as varchar), 2, '0')
                else cast(cast(extract(year from g.period_start) as integer) as varchar) || '-Q'
                     || cast(cast(extract(quarter from g.period_start) as integer) as varchar) end as period_label,
           g.channel,
           g.weekday_iso,
           g.weekday_name_id,
           g.weekday_name_en,
           g.hour_local,
           coalesce(c.n_messages, 0) as n_messages,
           coalesce(c.n_customer_messages, 0) as n_customer_messages,
           coalesce(c.n_agent_messages, 0) as n_agent_messages,
           coalesce(c.n_bot_messages, 0) as n_bot_messages
    from grid g
    left join counts c
      on c.period_type = g.period_type and c.period_start = g.period_start and c.channel = g.channel
     and c.weekday_iso = g.weekday_iso and c.hour_local = g.hour_local
)
select * from final;
comment on view bi.v_volume_heatmap is 'Message volume by local weekday and hour per period (month and quarter) and channel, system lines excluded; the full 7 x 24 grid of every period and channel with data (empty cells 0).';
comment on column bi.v_volume_heatmap.period_type is 'month | quarter.';
comment on column bi.v_volume_heatmap.period_start is 'First local date of the period (of the message''s local date).';
comment on column bi.v_volume_heatmap.period_label is '2025-03 (month) or 2025-Q1 (quarter).';
comment on column bi.v_volume_heatmap.channel is 'whatsapp | email | marketplace | other.';
comment on column bi.v_volume_heatmap.weekday_iso is 'ISO weekday of the local time: 1 = Monday ... 7 = Sunday.';
comment on column bi.v_volume_heatmap.weekday_name_id is 'Weekday in Indonesian (Senin ... Minggu).';
comment on column bi.v_volume_heatmap.weekday_name_en is 'Weekday in English.';
comment on column bi.v_volume_heatmap.hour_local is 'Local hour of the day, 0-23.';
comment on column bi.v_volume_heatmap.n_messages is 'Messages (customer, agent and bot).';
comment on column bi.v_volume_heatmap.n_customer_messages is 'Messages by customers.';
comment on column bi.v_volume_heatmap.n_agent_messages is 'Messages by human agents.';
comment on column bi.v_volume_heatmap.n_bot_messages is 'Bot / auto-reply messages.';

-- bi.v_backlog ------------------------------------------------------------------------------
create or replace view bi.v_backlog as
with horizon as (
    select max(sent_at) as data_horizon_at from marts.fct_message
),
overdue as (
    select pair_id, thread_id, thread_name, channel, customer_key, agent_id, question_at, question_at_local,
           n_customer_messages, first_auto_reply_at, sla_deadline_at
    from bi.v_reply_pairs
    where status = 'unanswered' and within_1_working_day = false and not is_in_closed_period
),
final as (
    select row_number() over (order by o.question_at, o.pair_id) as backlog_rank,
           o.pair_id,
           o.thread_id,
           o.thread_name,
           o.channel,
           o.customer_key,
           o.agent_id,
           o.question_at,
           o.question_at_local,
           o.n_customer_messages,
           o.first_auto_reply_at,
           o.sla_deadline_at,
           h.data_horizon_at,
           cast(extract(epoch from h.data_horizon_at) - extract(epoch from o.question_at) as bigint) as waiting_seconds,
           cast(extract(epoch from h.data_horizon_at) - extract(epoch from o.sla_deadline_at) as bigint) as overdue_seconds
    from overdue o
    cross join horizon h
)
select * from final order by backlog_rank;
comment on view bi.v_backlog is 'Unanswered customer queues past their one-working-day deadline at the data horizon (latest message in the warehouse), oldest first (backlog_rank); closed-period queues excluded.';
comment on column bi.v_backlog.backlog_rank is '1 = the oldest question (ties: pair_id).';
comment on column bi.v_backlog.pair_id is 'Queue key.';
comment on column bi.v_backlog.thread_id is 'Thread of the queue.';
comment on column bi.v_backlog.thread_name is 'Masked thread name.';
comment on column bi.v_backlog.channel is 'whatsapp | email | marketplace | other.';
comment on column bi.v_backlog.customer_key is 'Masked customer.';
comment on column bi.v_backlog.agent_id is 'The thread''s primary agent, who owns the queue.';
comment on column bi.v_backlog.question_at is 'When the queue started (UTC).';
comment on column bi.v_backlog.question_at_local is 'When the queue started, local time.';
comment on column bi.v_backlog.n_customer_messages is 'Customer messages waiting.';
comment on column bi.v_backlog.first_auto_reply_at is 'Auto reply the customer got, if any.';
comment on column bi.v_backlog.sla_deadline_at is 'The one-working-day deadline that has passed.';
comment on column bi.v_backlog.data_horizon_at is 'Latest sent_at of any message in the warehouse: the now of the data.';
comment on column bi.v_backlog.waiting_seconds is 'Calendar seconds from the question to the data horizon.';
comment on column bi.v_backlog.overdue_seconds is 'Calendar seconds from the deadline to the data horizon.';

-- bi.v_kpi ----------------------------------------------------------------------------------
create or replace view bi.v_kpi as
with kpis as (
    select kpi_code, period_type, period_start, agent_id, value, unit, basis_count, note, computed_at
    from marts.fct_kpi
),
final as (
    select kpi_code,
           period_type,
           period_start,
           case when period_type = 'month'
                then cast(cast(extract(year from period_start) as integer) as varchar) || '-'
                     || lpad(cast(cast(extract(month from period_start) as integer) as varchar), 2, '0')
                else cast(cast(extract(year from period_start) as integer) as varchar) || '-Q'
                     || cast(cast(extract(quarter from period_start) as integer) as varchar) end as period_label,
           agent_id is null as is_team,
           agent_id,
           value,
           unit,
           case when unit = 'seconds' then value / 60.0 end as value_minutes,
           basis_count,
           note,
           computed_at
    from kpis
)
select * from final;
comment on view bi.v_kpi is 'KPI values per period and agent (marts.fct_kpi, SPEC 8); team rows have is_team true. Raw values: targets are applied only in bi.v_scorecard.';
comment on column bi.v_kpi.kpi_code is 'KPI code of SPEC 8.';
comment on column bi.v_kpi.period_type is 'month | quarter.';
comment on column bi.v_kpi.period_start is 'First local date of the period.';
comment on column bi.v_kpi.period_label is '2025-03 (month) or 2025-Q1 (quarter).';
comment on column bi.v_kpi.is_team is 'True for the whole-team row (agent_id null).';
comment on column bi.v_kpi.agent_id is 'Agent; null for the team.';
comment on column bi.v_kpi.value is 'Raw value (unit); null when there is no data (see note).';
comment on column bi.v_kpi.unit is 'seconds | percent | count.';
comment on column bi.v_kpi.value_minutes is 'value / 60 for durations, else null.';
comment on column bi.v_kpi.basis_count is 'Number of facts the value rests on.';
comment on column bi.v_kpi.note is 'Why a value is null, or what was left out.';
comment on column bi.v_kpi.computed_at is 'When the period was computed (UTC).';

-- bi.v_scorecard ----------------------------------------------------------------------------
create or replace view bi.v_scorecard as
with scorecards as (
    select template, period_type, period_start, agent_id, kpi_code, direction, unit, value, target, cap_pct,
           achievement_pct, weight, weighted_score, note, computed_at
    from marts.fct_scorecard
),
final as (
    select template,
           period_type,
           period_start,
           case when period_type = 'month'
                then cast(cast(extract(year from period_start) as integer) as varchar) || '-'
                     || lpad(cast(cast(extract(month from period_start) as integer) as varchar), 2, '0')
                else cast(cast(extract(year from period_start) as integer) as varchar) || '-Q'
                     || cast(cast(extract(quarter from period_start) as integer) as varchar) end as period_label,
           agent_id is null as is_team,
           agent_id,
           kpi_code,
           direction,
           unit,
           value,
           target,
           cap_pct,
           achievement_pct,
           weight,
           weighted_score,
           value is not null as has_data,
           note,
           computed_at
    from scorecards
)
select * from final;
comment on view bi.v_scorecard is 'Scorecard lines (marts.fct_scorecard, SPEC 9): per template, period, agent (is_team for the team) and KPI the value, target, achievement and weighted score.';
comment on column bi.v_scorecard.template is 'Scorecard template: customer_relations_officer | sales_chat | custom.';
comment on column bi.v_scorecard.period_type is 'month | quarter.';
comment on column bi.v_scorecard.period_start is 'First local date of the period.';
comment on column bi.v_scorecard.period_label is '2025-03 (month) or 2025-Q1 (quarter).';
comment on column bi.v_scorecard.is_team is 'True for the team scorecard (agent_id null).';
comment on column bi.v_scorecard.agent_id is 'Agent scored; null for the team.';
comment on column bi.v_scorecard.kpi_code is 'KPI of the template.';
comment on column bi.v_scorecard.direction is 'higher | lower (is better).';
comment on column bi.v_scorecard.unit is 'seconds | percent | count.';
comment on column bi.v_scorecard.value is 'KPI value; null without data.';
comment on column bi.v_scorecard.target is 'Target of the period type, in the unit of value.';
comment on column bi.v_scorecard.cap_pct is 'Highest achievement the KPI can earn, percent.';
comment on column bi.v_scorecard.achievement_pct is 'value / target or target / value in percent, floored at 0 and capped; null without data.';
comment on column bi.v_scorecard.weight is 'Weight of the KPI in the template.';
comment on column bi.v_scorecard.weighted_score is 'achievement_pct * weight / 100 (points); null without data.';
comment on column bi.v_scorecard.has_data is 'False when the KPI has no value for the period: its weight is left out of the covered weights.';
comment on column bi.v_scorecard.note is 'Why the value is missing.';
comment on column bi.v_scorecard.computed_at is 'When the scorecard was computed (UTC).';

-- bi.v_scorecard_total ----------------------------------------------------------------------
create or replace view bi.v_scorecard_total as
with lines as (
    select template, period_type, period_start, period_label, is_team, agent_id, kpi_code, weight, weighted_score, has_data
    from bi.v_scorecard
),
totals as (
    select template, period_type, period_start, period_label, is_team, agent_id,
           sum(weighted_score) as total_points,
           coalesce(sum(weight) filter (where has_data), 0) as weights_with_data,
           sum(weight) as weights_total,
           count(*) filter (where not has_data) as n_kpis_without_data,
           string_agg(case when not has_data then kpi_code end, ', ' order by kpi_code) as kpis_without_data
    from lines
    group by template, period_type, period_start, period_label, is_team, agent_id
),
final as (
    select template,
           period_type,
           period_start,
           period_label,
           is_team,
           agent_id,
           total_points,
           weights_with_data,
           weights_total,
           cast(100.0 * total_points / nullif(weights_with_data, 0) as double precision) as total_pct_of_covered,
           n_kpis_without_data,
           kpis_without_data
    from totals
)
select * from final;
comment on view bi.v_scorecard_total is 'One row per scorecard (template, period, agent or team): total points, the weights that have data, and the total as a percentage of those weights; KPIs without data are named.';
comment on column bi.v_scorecard_total.template is 'Scorecard template.';
comment on column bi.v_scorecard_total.period_type is 'month | quarter.';
comment on column bi.v_scorecard_total.period_start is 'First local date of the period.';
comment on column bi.v_scorecard_total.period_label is '2025-03 (month) or 2025-Q1 (quarter).';
comment on column bi.v_scorecard_total.is_team is 'True for the team scorecard.';
comment on column bi.v_scorecard_total.agent_id is 'Agent scored; null for the team.';
comment on column bi.v_scorecard_total.total_points is 'Sum of weighted_score over the KPIs with data; null when none has data.';
comment on column bi.v_scorecard_total.weights_with_data is 'Sum of the weights of the KPIs with data.';
comment on column bi.v_scorecard_total.weights_total is 'Sum of all weights of the template (seed 001: 70).';
comment on column bi.v_scorecard_total.total_pct_of_covered is 'total_points / weights_with_data in percent (0-100); null when no KPI has data.';
comment on column bi.v_scorecard_total.n_kpis_without_data is 'KPIs of the template without a value for the period.';
comment on column bi.v_scorecard_total.kpis_without_data is 'Their codes, comma-separated (alphabetical).';
