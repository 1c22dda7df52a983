-- Reply pairs (SPEC 6) and thread facts (SPEC 7), rebuilt per affected thread on every ingest.

create table if not exists marts.fct_reply_pair (
    pair_id               varchar   not null,
    thread_id             varchar   not null,
    channel               varchar   not null,
    customer_id           varchar,
    agent_id              varchar,
    question_message_id   varchar   not null,
    question_at           timestamptz not null,
    question_at_local     timestamp not null,
    n_customer_messages   bigint    not null,
    effective_start_at    timestamptz,
    first_auto_reply_at   timestamptz,
    reply_message_id      varchar,
    reply_at              timestamptz,
    calendar_seconds      bigint,
    business_seconds      bigint,
    sla_deadline_at       timestamptz,
    within_24h            boolean,
    within_1_working_day  boolean,
    status                varchar   not null,
    is_valid              boolean   not null,
    is_in_closed_period   boolean   not null
);
comment on table marts.fct_reply_pair is 'One row per customer queue: consecutive customer messages up to the first human agent reply (SPEC 6).';
comment on column marts.fct_reply_pair.pair_id is 'Deterministic id of the queue: the message_id of its first customer message.';
comment on column marts.fct_reply_pair.thread_id is 'Thread of the queue (marts.fct_thread).';
comment on column marts.fct_reply_pair.channel is 'whatsapp | email | marketplace | other.';
comment on column marts.fct_reply_pair.customer_id is 'Customer of the thread.';
comment on column marts.fct_reply_pair.agent_id is 'Agent who replied; for unanswered queues the thread''s primary agent.';
comment on column marts.fct_reply_pair.question_message_id is 'First customer message of the queue.';
comment on column marts.fct_reply_pair.question_at is 'When the queue started (UTC).';
comment on column marts.fct_reply_pair.question_at_local is 'When the queue started, local time (periods are local dates of this).';
comment on column marts.fct_reply_pair.n_customer_messages is 'Customer messages in the queue.';
comment on column marts.fct_reply_pair.effective_start_at is 'next_working_start(question_at): when the business clock starts.';
comment on column marts.fct_reply_pair.first_auto_reply_at is 'First bot / auto-reply message inside the queue, if any.';
comment on column marts.fct_reply_pair.reply_message_id is 'First human agent message after the queue; null if unanswered.';
comment on column marts.fct_reply_pair.reply_at is 'When that reply was sent (UTC); null if unanswered.';
comment on column marts.fct_reply_pair.calendar_seconds is 'reply_at - question_at in seconds (nights, weekends, holidays included).';
comment on column marts.fct_reply_pair.business_seconds is 'Working seconds between question_at and reply_at (business calendar of the config).';
comment on column marts.fct_reply_pair.sla_deadline_at is 'one_working_day_deadline(effective_start_at): the 1-working-day deadline.';
comment on column marts.fct_reply_pair.within_24h is 'Answered within 24 calendar hours; for unanswered queues false once 24 h have passed the data horizon, else null (pending).';
comment on column marts.fct_reply_pair.within_1_working_day is 'Answered by sla_deadline_at; for unanswered queues false once the data horizon passed the deadline, else null (pending).';
comment on column marts.fct_reply_pair.status is 'answered | unanswered.';
comment on column marts.fct_reply_pair.is_in_closed_period is 'The question was sent inside a closed period or store holiday mode: such queues count in no rate.';
comment on column marts.fct_reply_pair.is_valid is 'Answered by a human, calendar_seconds >= 0, question not inside a closed period or store holiday mode.';

create table if not exists marts.fct_thread (
    thread_id                        varchar   not null,
    thread_name                      varchar,
    channel                          varchar   not null,
    customer_id                      varchar,
    primary_agent_id                 varchar,
    first_message_at                 timestamptz,
    last_message_at                  timestamptz,
    n_messages                       bigint    not null,
    n_customer_messages              bigint    not null,
    n_agent_messages                 bigint    not null,
    n_bot_messages                   bigint    not null,
    n_system_messages                bigint    not null,
    n_reply_pairs                    bigint    not null,
    n_unanswered                     bigint    not null,
    first_response_seconds           bigint,
    first_response_business_seconds  bigint,
    is_new_customer                  boolean
);
comment on table marts.fct_thread is 'One row per conversation between the business and one customer on one channel (SPEC 7).';
comment on column marts.fct_thread.thread_id is 'Thread key (as in marts.fct_message).';
comment on column marts.fct_thread.thread_name is 'Chat name.';
comment on column marts.fct_thread.channel is 'whatsapp | email | marketplace | other.';
comment on column marts.fct_thread.customer_id is 'Customer of the thread.';
comment on column marts.fct_thread.primary_agent_id is 'Agent with the most human replies in the thread (ties: the one who replied first).';
comment on column marts.fct_thread.first_message_at is 'First message (UTC).';
comment on column marts.fct_thread.last_message_at is 'Last message (UTC).';
comment on column marts.fct_thread.n_messages is 'Messages in the thread.';
comment on column marts.fct_thread.n_customer_messages is 'Messages by the customer.';
comment on column marts.fct_thread.n_agent_messages is 'Messages by human agents.';
comment on column marts.fct_thread.n_bot_messages is 'Bot / auto-reply messages.';
comment on column marts.fct_thread.n_system_messages is 'System lines.';
comment on column marts.fct_thread.n_reply_pairs is 'Customer queues (answered and unanswered).';
comment on column marts.fct_thread.n_unanswered is 'Queues without a human reply yet.';
comment on column marts.fct_thread.first_response_seconds is 'Calendar seconds from the first queue to its human reply.';
comment on column marts.fct_thread.first_response_business_seconds is 'Business seconds from the first queue to its human reply.';
comment on column marts.fct_thread.is_new_customer is 'The customer had no earlier thread and no earlier order (SPEC 7).';

create table if not exists staging.stg_thread_key (
    thread_id varchar not null
);
comment on table staging.stg_thread_key is 'Threads whose facts are being rebuilt (bound key list; emptied after use).';
comment on column staging.stg_thread_key.thread_id is 'Thread to rebuild.';
