-- SLA breaches and transcripts for BI (issue 17): the same lists, with the same keys (pair_id,
-- thread_id, customer_key), as `chatkpi breaches` and `chatkpi thread`. A view has no
-- parameter, so its "now" is the query's clock (current_timestamp); the command line takes
-- --as-of for re-runs. Customers and contacts are masked as in bi.v_reply_pairs / bi.v_messages.

-- bi.v_sla_breaches -----------------------------------------------------------------------------
create or replace view bi.v_sla_breaches as
with clock as (
    select current_timestamp as now_at
),
pairs as (
    select p.pair_id, p.thread_id, p.thread_name, p.channel, p.customer_key, p.agent_id, p.question_at,
           p.question_at_local, p.n_customer_messages, p.sla_deadline_at, p.reply_at, p.status,
           f.question_message_id
    from bi.v_reply_pairs p
    join marts.fct_reply_pair f on f.pair_id = p.pair_id
    where not p.is_in_closed_period and p.sla_deadline_at is not null
),
breaches as (
    select p.*,
           c.now_at,
           case when p.reply_at is null or p.reply_at > c.now_at then 'open' else 'late' end as breach_kind
    from pairs p
    cross join clock c
    where p.question_at <= c.now_at
      and (((p.reply_at is null or p.reply_at > c.now_at) and p.sla_deadline_at < c.now_at)
           or (p.status = 'answered' and p.reply_at > p.sla_deadline_at and p.reply_at <= c.now_at))
),
final as (
    select b.breach_kind,
           b.pair_id,
           b.thread_id,
           b.thread_name,
           b.channel,
           b.customer_key,
           b.agent_id,
           b.question_at,
           b.question_at_local,
           b.n_customer_messages,
           b.sla_deadline_at,
           case when b.breach_kind = 'late' then b.reply_at end as reply_at,
           b.now_at,
           cast(extract(epoch from case when b.breach_kind = 'late' then b.reply_at else b.now_at end)
                - extract(epoch from b.question_at) as bigint) as waiting_seconds,
           cast(extract(epoch from case when b.breach_kind = 'late' then b.reply_at else b.now_at end)
                - extract(epoch from b.sla_deadline_at) as bigint) as overdue_seconds,
           left(m.text, 120) as excerpt
    from breaches b
    left join bi.v_messages m on m.message_id = b.question_message_id
)
select * from final;
comment on view bi.v_sla_breaches is 'Customer queues that broke the one-working-day deadline, as of the query''s clock: open (unanswered, deadline passed) and late (answered after the deadline); closed-period queues excluded. Same rows and keys as `chatkpi breaches`.';
comment on column bi.v_sla_breaches.breach_kind is 'open (still unanswered now) | late (answered after the deadline).';
comment on column bi.v_sla_breaches.pair_id is 'Queue key (bi.v_reply_pairs.pair_id).';
comment on column bi.v_sla_breaches.thread_id is 'Thread of the queue; its transcript is bi.v_transcript.';
comment on column bi.v_sla_breaches.thread_name is 'Masked thread name.';
comment on column bi.v_sla_breaches.channel is 'whatsapp | email | marketplace | other.';
comment on column bi.v_sla_breaches.customer_key is 'Masked customer (as bi.v_threads.customer_key).';
comment on column bi.v_sla_breaches.agent_id is 'Agent who answered; for open queues the thread''s primary agent, who owns it.';
comment on column bi.v_sla_breaches.question_at is 'When the customer started waiting (UTC).';
comment on column bi.v_sla_breaches.question_at_local is 'When the customer started waiting, local time.';
comment on column bi.v_sla_breaches.n_customer_messages is 'Customer messages in the queue.';
comment on column bi.v_sla_breaches.sla_deadline_at is 'The one-working-day deadline (UTC).';
comment on column bi.v_sla_breaches.reply_at is 'The late answer (UTC); null for open queues.';
comment on column bi.v_sla_breaches.now_at is 'The clock the list was made at (current_timestamp of the query).';
comment on column bi.v_sla_breaches.waiting_seconds is 'Calendar seconds from the question to the answer (late) or to now (open).';
comment on column bi.v_sla_breaches.overdue_seconds is 'Calendar seconds from the deadline to the answer (late) or to now (open).';
comment on column bi.v_sla_breaches.excerpt is 'First 120 characters of the first customer message, contacts masked.';

-- bi.v_transcript -------------------------------------------------------------------------------
create or replace view bi.v_transcript as
with ordered as (
    select message_id,
           row_number() over (partition by thread_id order by sent_at, file_seq, source_line, message_id) as position
    from marts.fct_message
),
final as (
    select m.thread_id,
           o.position,
           m.message_id,
           m.sent_at,
           m.sent_at_local,
           m.sender_role,
           m.sender_label,
           m.is_auto_reply,
           m.message_type,
           m.text,
           q.pair_id as opens_pair_id,
           r.pair_id as answers_pair_id
    from bi.v_messages m
    join ordered o on o.message_id = m.message_id
    left join marts.fct_reply_pair q on q.question_message_id = m.message_id
    left join marts.fct_reply_pair r on r.reply_message_id = m.message_id
)
select * from final;
comment on view bi.v_transcript is 'Messages of every thread in thread order, contacts masked, with the customer queue each message opens or answers (bi.v_reply_pairs.pair_id). Same marks as `chatkpi thread`.';
comment on column bi.v_transcript.thread_id is 'Thread (bi.v_threads.thread_id).';
comment on column bi.v_transcript.position is '1-based position in the thread (sent_at, then file order).';
comment on column bi.v_transcript.message_id is 'Message key.';
comment on column bi.v_transcript.sent_at is 'When it was sent (UTC).';
comment on column bi.v_transcript.sent_at_local is 'When it was sent, local time.';
comment on column bi.v_transcript.sender_role is 'customer | agent | bot | system.';
comment on column bi.v_transcript.sender_label is 'Agent id, or the masked sender name.';
comment on column bi.v_transcript.is_auto_reply is 'Bot / auto reply.';
comment on column bi.v_transcript.message_type is 'text | media | ….';
comment on column bi.v_transcript.text is 'Text, phone numbers and e-mail addresses masked.';
comment on column bi.v_transcript.opens_pair_id is 'The customer queue this message starts, if any.';
comment on column bi.v_transcript.answers_pair_id is 'The customer queue this message answers, if any.';
