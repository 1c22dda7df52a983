-- E-mail thread identity across files and batches (issue 14, item 2). Every loaded e-mail's
-- Message-ID, the ids it references (In-Reply-To and every References id) and what the thread
-- key of its conversation is, so a mail loaded later - from any file, in any batch - joins
-- the thread of any message it references, and a mail that references two threads merges them
-- (kpi_transforms.pipeline.email_threads). Portable DDL: the same text runs on DuckDB and
-- PostgreSQL.

create table if not exists marts.email_message (
    email_message_id    varchar   not null primary key,
    thread_key          varchar   not null,
    root_guess          varchar   not null,
    sent_at_local       timestamp not null,
    subject             varchar,
    customer_sender     varchar,
    customer_recipient  varchar
);
comment on table marts.email_message is 'One row per loaded e-mail (by its Message-ID): the thread key of its conversation and what decides that key. Maintained by the ingest; a thread merge rewrites thread_key.';
comment on column marts.email_message.email_message_id is 'The Message-ID without angle brackets (a synthetic <sha>@chatkpi.invalid id for mail without one).';
comment on column marts.email_message.thread_key is 'Thread key of the conversation (email:<root guess of its earliest message>); marts.fct_message.thread_id is derived from it.';
comment on column marts.email_message.root_guess is 'First References id, else In-Reply-To, else the own Message-ID: the thread key this mail gives when it is the earliest of its conversation.';
comment on column marts.email_message.sent_at_local is 'Date header in local time: the earliest message of a conversation names it.';
comment on column marts.email_message.subject is 'Subject without reply / forward prefixes: the thread name when this mail is the earliest.';
comment on column marts.email_message.customer_sender is 'The sender when it is a customer (not an agent address or company domain, not a bounce).';
comment on column marts.email_message.customer_recipient is 'The first To / Cc address that is not the business.';

create table if not exists marts.email_reference (
    email_message_id  varchar not null,
    ref_id            varchar not null,
    primary key (email_message_id, ref_id)
);
comment on table marts.email_reference is 'Message-IDs an e-mail references (In-Reply-To and every References id, typos included): the edges of the thread graph.';
comment on column marts.email_reference.email_message_id is 'The referencing e-mail (marts.email_message).';
comment on column marts.email_reference.ref_id is 'A referenced Message-ID, whether or not that message was ever loaded.';
