-- Canonical messages, the file manifest and the quarantine (SPEC 3, 4, 12).

create table if not exists marts.fct_message (
    message_id      varchar   not null primary key,
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
    batch_id        varchar   not null
);
comment on table marts.fct_message is 'One row per message, deduplicated across exports (SPEC 4). Order inside a thread: sent_at, file_seq, source_line.';
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

create table if not exists staging.stg_message (
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
    batch_id        varchar   not null
);
comment on table staging.stg_message is 'Messages of the batch being loaded, before the merge into marts.fct_message; emptied by every batch.';

create table if not exists audit.file_manifest (
    file_sha256        varchar   not null primary key,
    file_seq           bigint    not null,
    source_file        varchar   not null,
    member             varchar,
    batch_id           varchar   not null,
    status             varchar   not null,
    source_kind        varchar,
    layout             varchar,
    date_order         varchar,
    date_order_source  varchar,
    thread_id          varchar,
    chat_name          varchar,
    lines_read         bigint,
    header_lines       bigint,
    continuation_lines bigint,
    quarantined_lines  bigint,
    messages_read      bigint,
    messages_new       bigint,
    messages_known     bigint,
    first_local_at     timestamp,
    last_local_at      timestamp,
    lake_path          varchar,
    loaded_at          timestamptz not null
);
comment on table audit.file_manifest is 'One row per input file content (sha256) ever processed: a file is processed once per content hash.';
comment on column audit.file_manifest.file_sha256 is 'sha256 of the file bytes (for a zip member: of the member bytes).';
comment on column audit.file_manifest.file_seq is 'Ingest order of the file; orders same-minute messages from different files.';
comment on column audit.file_manifest.source_file is 'Path of the file as given to ingest.';
comment on column audit.file_manifest.member is 'Member name inside a zip export, else null.';
comment on column audit.file_manifest.batch_id is 'Ingest batch that processed the file.';
comment on column audit.file_manifest.status is 'loaded | rejected.';
comment on column audit.file_manifest.source_kind is 'whatsapp | canonical.';
comment on column audit.file_manifest.layout is 'Layout detected (e.g. android dd/mm/yy HH.MM).';
comment on column audit.file_manifest.date_order is 'dmy | mdy | ymd used to read the dates.';
comment on column audit.file_manifest.date_order_source is 'config | file | hint (earlier export of the chat) | default (ambiguous: day first).';
comment on column audit.file_manifest.thread_id is 'Thread the file belongs to (WhatsApp), else null.';
comment on column audit.file_manifest.chat_name is 'Chat name taken from the file name or the participants.';
comment on column audit.file_manifest.lines_read is 'Physical lines read; = header_lines + continuation_lines + quarantined_lines.';
comment on column audit.file_manifest.header_lines is 'Lines that start a message.';
comment on column audit.file_manifest.continuation_lines is 'Lines that continue the previous message.';
comment on column audit.file_manifest.quarantined_lines is 'Lines sent to audit.rejected_row.';
comment on column audit.file_manifest.messages_read is 'Messages parsed from the file.';
comment on column audit.file_manifest.messages_new is 'Messages not in the warehouse before this file.';
comment on column audit.file_manifest.messages_known is 'Messages already in the warehouse (earlier exports of the chat).';
comment on column audit.file_manifest.first_local_at is 'Earliest local timestamp in the file.';
comment on column audit.file_manifest.last_local_at is 'Latest local timestamp in the file.';
comment on column audit.file_manifest.lake_path is 'Parquet file of the parsed messages in the lake.';
comment on column audit.file_manifest.loaded_at is 'When the batch committed (UTC).';

create table if not exists audit.rejected_file (
    file_sha256  varchar   not null primary key,
    source_file  varchar   not null,
    member       varchar,
    batch_id     varchar   not null,
    reason       varchar   not null,
    rejected_at  timestamptz not null
);
comment on table audit.rejected_file is 'Input files that could not be used at all, with the reason (SPEC 12).';
comment on column audit.rejected_file.file_sha256 is 'sha256 of the file bytes.';
comment on column audit.rejected_file.source_file is 'Path of the file as given to ingest.';
comment on column audit.rejected_file.member is 'Zip member, if the problem is one member.';
comment on column audit.rejected_file.batch_id is 'Ingest batch that saw the file.';
comment on column audit.rejected_file.reason is 'Why the file was rejected, in words.';
comment on column audit.rejected_file.rejected_at is 'When (UTC).';

create table if not exists audit.rejected_row (
    file_sha256  varchar   not null,
    source_file  varchar   not null,
    source_line  bigint    not null,
    batch_id     varchar   not null,
    raw          varchar,
    reason       varchar   not null,
    primary key (file_sha256, source_line)
);
comment on table audit.rejected_row is 'Quarantined input lines / rows with the reason; the rest of their file was loaded.';
comment on column audit.rejected_row.file_sha256 is 'sha256 of the file the line came from.';
comment on column audit.rejected_row.source_file is 'Path of that file.';
comment on column audit.rejected_row.source_line is '1-based line (or row) number.';
comment on column audit.rejected_row.batch_id is 'Ingest batch.';
comment on column audit.rejected_row.raw is 'The line as read (first 500 characters).';
comment on column audit.rejected_row.reason is 'Why it was quarantined.';

create table if not exists audit.batch (
    batch_id     varchar   not null primary key,
    started_at   timestamptz not null,
    finished_at  timestamptz,
    n_files      bigint,
    n_loaded     bigint,
    n_rejected   bigint,
    n_skipped    bigint,
    messages_new bigint
);
comment on table audit.batch is 'One row per ingest batch that committed.';
comment on column audit.batch.batch_id is 'Batch id (uuid).';
comment on column audit.batch.started_at is 'Start (UTC).';
comment on column audit.batch.finished_at is 'Commit (UTC).';
comment on column audit.batch.n_files is 'Files seen.';
comment on column audit.batch.n_loaded is 'Files loaded.';
comment on column audit.batch.n_rejected is 'Files rejected.';
comment on column audit.batch.n_skipped is 'Files skipped because their content was processed before.';
comment on column audit.batch.messages_new is 'Messages added to marts.fct_message.';
