-- dialect: duckdb
-- marts.fct_message without the primary-key index, on DuckDB only (docs/DECISIONS.md,
-- "Message uniqueness on DuckDB"). DuckDB enforces a primary key with an ART index that the
-- merge of every batch loads and checks: on 1 M new messages it doubled the merge and made
-- the commit's checkpoint ten times slower, and a 10 k-message daily batch on a 10 M-message
-- warehouse held ~900 MB for the index alone. Uniqueness stays guaranteed by the one writer
-- path (the ingest merge inserts only ids not in the table, under the ingest lock; DuckDB
-- allows one writing process) and is checked by tests. PostgreSQL keeps its primary key.
-- The table is rebuilt with the same columns, order, NOT NULL constraints and comments.

create table marts.fct_message_v012 (
    message_id      varchar   not null,
    thread_id       varchar   not null,
    thread_name     varchar,
    channel         varchar   not null,
    sent_at         timestamptz not null,
    sent_at_local   timestamp not null,
    sender_name     varchar,
    sender_role     varchar   not null,
    agent_id        varchar,
    customer_id     varchar,
    is_auto_reply   boolean   not null,
    message_type    varchar   not null,
    text            varchar,
    source_file     varchar   not null,
    source_line     bigint    not null,
    file_seq        bigint    not null,
    batch_id        varchar   not null,
    in_holiday_mode boolean default false
);
insert into marts.fct_message_v012 select * from marts.fct_message order by thread_id, sent_at, file_seq, source_line;
drop table marts.fct_message;
alter table marts.fct_message_v012 rename to fct_message;

comment on table marts.fct_message is 'One row per message, deduplicated across exports (SPEC 4). Order inside a thread: sent_at, file_seq, source_line. message_id is unique (the primary key on PostgreSQL; on DuckDB guaranteed by the ingest merge, see docs/DECISIONS.md).';
comment on column marts.fct_message.message_id is 'Deterministic hash of channel, thread key, local timestamp, sender, text and the occurrence index of identical tuples: the same message in two exports has the same id.';
comment on column marts.fct_message.thread_id is 'Conversation key: channel plus a hash of the normalised chat name (after thread_aliases).';
comment on column marts.fct_message.thread_name is 'Chat name as exported (file name or non-agent participant).';
comment on column marts.fct_message.channel is 'whatsapp | email | marketplace | other.';
comment on column marts.fct_message.sent_at is 'When the message was sent, UTC.';
comment on column marts.fct_message.sent_at_local is 'When the message was sent, local wall-clock time of the configured time zone (as in the export).';
comment on column marts.fct_message.sender_name is 'Sender as shown in the export; null for system lines.';
comment on column marts.fct_message.sender_role is 'customer | agent | bot | system (roles from the config roster and auto-reply patterns).';
comment on column marts.fct_message.agent_id is 'Roster id of the agent for agent and bot messages, else null.';
comment on column marts.fct_message.customer_id is 'Customer key of the thread: +62 phone, lower-cased e-mail, or name:<normalised name>.';
comment on column marts.fct_message.is_auto_reply is 'True for greeting / away / quick-reply templates and marketplace auto replies.';
comment on column marts.fct_message.message_type is 'text | media | deleted | system | faq_card | welcome_card | ...';
comment on column marts.fct_message.text is 'Message text; multi-line messages joined with a newline.';
comment on column marts.fct_message.source_file is 'File the message was first read from.';
comment on column marts.fct_message.source_line is '1-based line of the message header in that file (for a row file: its row number).';
comment on column marts.fct_message.file_seq is 'Ingest sequence number of that file (audit.file_manifest.file_seq).';
comment on column marts.fct_message.batch_id is 'Ingest batch that first loaded the message.';
comment on column marts.fct_message.in_holiday_mode is 'The store was in marketplace holiday mode when the message was sent (marketplace "Detail Chat" export flag); false for other sources. A customer queue starting at such a message is not valid (seed 004).';
