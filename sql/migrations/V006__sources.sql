-- E-mail, marketplace chat, sales report, customer identity and manual override inputs
-- (SPEC 3, 4, 6, 7; docs/INPUTS.md). Row tables are merged on their natural key, inside the
-- ingest batch's transaction (kpi_transforms.ingest ROW_TABLES).

-- Marketplace store holiday mode (seed 004): a queue opened during holiday mode counts in no rate.
alter table marts.fct_message add column if not exists in_holiday_mode boolean default false;
comment on column marts.fct_message.in_holiday_mode is 'The store was in marketplace holiday mode when the message was sent (marketplace "Detail Chat" export flag); false for other sources. A customer queue starting at such a message is not valid (seed 004).';
alter table staging.stg_message add column if not exists in_holiday_mode boolean default false;
comment on column staging.stg_message.in_holiday_mode is 'As marts.fct_message.in_holiday_mode.';

create table if not exists marts.fct_chat_rating (
    rating_id      varchar   not null primary key,
    thread_id      varchar   not null,
    channel        varchar   not null,
    rated_at       timestamptz not null,
    rated_at_local timestamp not null,
    stars          smallint  not null,
    source_file    varchar   not null,
    source_line    bigint    not null,
    file_seq       bigint    not null
);
comment on table marts.fct_chat_rating is 'One row per chat rating given by a customer (marketplace exports), for csat_rate (4-5 stars) and resolution_rate (3+ stars).';
comment on column marts.fct_chat_rating.rating_id is 'Deterministic id: hash of thread, local rating time and stars (a re-export repeats the same id).';
comment on column marts.fct_chat_rating.thread_id is 'Thread rated (marts.fct_thread).';
comment on column marts.fct_chat_rating.channel is 'Channel of the thread (marketplace).';
comment on column marts.fct_chat_rating.rated_at is 'When the rating was given (UTC): the time of the export row that carries it.';
comment on column marts.fct_chat_rating.rated_at_local is 'The same, local wall-clock time.';
comment on column marts.fct_chat_rating.stars is 'Rating, 1 to 5 stars.';
comment on column marts.fct_chat_rating.source_file is 'Export file the rating was read from (the latest-loaded file wins).';
comment on column marts.fct_chat_rating.source_line is 'Row of that file.';
comment on column marts.fct_chat_rating.file_seq is 'Ingest sequence number of that file.';

create table if not exists marts.fct_order (
    order_id        varchar   not null primary key,
    order_date      date      not null,
    customer_id     varchar,
    customer_name   varchar,
    amount_idr      numeric(18, 2) not null,
    market          varchar   not null,
    customer_key    varchar,
    customer_phone  varchar,
    customer_email  varchar,
    report_as_of    date      not null,
    source_file     varchar   not null,
    source_line     bigint    not null,
    file_seq        bigint    not null
);
comment on table marts.fct_order is 'One row per order of the sales report (SPEC 7). An order id seen in several reports keeps the row of the report with the latest report_as_of (ties: the later-loaded file).';
comment on column marts.fct_order.order_id is 'Order / invoice number as written in the report (trimmed).';
comment on column marts.fct_order.order_date is 'Order date, local (reports carry dates without time).';
comment on column marts.fct_order.customer_id is 'Canonical customer (marts.dim_customer): customer_key resolved through marts.map_customer_key; re-resolved when a mapping or customer list is loaded.';
comment on column marts.fct_order.customer_name is 'Customer name as written in the report.';
comment on column marts.fct_order.amount_idr is 'Order amount in rupiah (Indonesian and English number formats read by pattern; see docs/INPUTS.md).';
comment on column marts.fct_order.market is 'local | international (Indonesian and English words accepted; empty = local).';
comment on column marts.fct_order.customer_key is 'Identity key the report gives: its customer id, else the +62 phone, else the lower-cased e-mail, else name:<normalised name>.';
comment on column marts.fct_order.customer_phone is 'Customer phone normalised to +62..., if the report has one.';
comment on column marts.fct_order.customer_email is 'Customer e-mail lower-cased, if the report has one.';
comment on column marts.fct_order.report_as_of is 'Latest order date in the report the row came from: decides which report wins for a duplicated order id.';
comment on column marts.fct_order.source_file is 'Report file the row came from.';
comment on column marts.fct_order.source_line is 'Row of that file (CSV: the header is line 1; XLSX: the sheet row).';
comment on column marts.fct_order.file_seq is 'Ingest sequence number of that file (audit.file_manifest.file_seq).';

create table if not exists marts.map_customer_key (
    customer_key  varchar   not null primary key,
    customer_id   varchar   not null,
    key_type      varchar   not null,
    source_kind   varchar   not null,
    source_rank   smallint  not null,
    source_file   varchar   not null,
    source_line   bigint    not null,
    file_seq      bigint    not null
);
comment on table marts.map_customer_key is 'Identity links (SPEC 4): one row per source key (phone, e-mail, chat name, marketplace buyer, report customer id) and the canonical customer it belongs to. From customer_map files (manual, rank 2) and customer lists (rank 1); the higher rank wins, then the later-loaded file.';
comment on column marts.map_customer_key.customer_key is 'Key as used by threads and orders: +62 phone, lower-cased e-mail, name:<normalised chat name>, <marketplace>:<buyer>, or a customer id.';
comment on column marts.map_customer_key.customer_id is 'Canonical customer id the key belongs to.';
comment on column marts.map_customer_key.key_type is 'phone | email | name | id | key.';
comment on column marts.map_customer_key.source_kind is 'customer_map | customer_list.';
comment on column marts.map_customer_key.source_rank is '2 for the manual mapping file, 1 for a customer list: the mapping wins.';
comment on column marts.map_customer_key.source_file is 'File the link came from.';
comment on column marts.map_customer_key.source_line is 'Row of that file.';
comment on column marts.map_customer_key.file_seq is 'Ingest sequence number of that file.';

create table if not exists marts.ref_customer_list (
    customer_id           varchar   not null primary key,
    name                  varchar,
    first_transaction_at  date,
    source_file           varchar   not null,
    source_line           bigint    not null,
    file_seq              bigint    not null
);
comment on table marts.ref_customer_list is 'Customer list rows (SPEC 3): attributes of a canonical customer; the later-loaded file wins per customer_id.';
comment on column marts.ref_customer_list.customer_id is 'Customer id of the list (canonical id).';
comment on column marts.ref_customer_list.name is 'Customer name of the list.';
comment on column marts.ref_customer_list.first_transaction_at is 'First transaction date known to the list (local date), so old customers do not look new.';
comment on column marts.ref_customer_list.source_file is 'File the row came from.';
comment on column marts.ref_customer_list.source_line is 'Row of that file.';
comment on column marts.ref_customer_list.file_seq is 'Ingest sequence number of that file.';

create table if not exists marts.dim_customer (
    customer_id           varchar   not null primary key,
    name                  varchar,
    phones                varchar,
    emails                varchar,
    first_order_at        date,
    first_transaction_at  date,
    first_thread_at       timestamptz,
    n_threads             bigint    not null,
    n_orders              bigint    not null,
    channels              varchar,
    source_keys           varchar
);
comment on table marts.dim_customer is 'One row per canonical customer (SPEC 4): WhatsApp, e-mail and marketplace threads and orders linked by +62 phone, lower-cased e-mail or the customer_map file. Rebuilt with the facts.';
comment on column marts.dim_customer.customer_id is 'Canonical customer id: the mapped id, else the thread / order key (+62 phone, e-mail, name:<chat name>, <marketplace>:<buyer>).';
comment on column marts.dim_customer.name is 'Name from the customer list, else the mapping file, else the sales report, else the first WhatsApp / marketplace chat name.';
comment on column marts.dim_customer.phones is 'All known phones (+62...), comma-separated, sorted.';
comment on column marts.dim_customer.emails is 'All known e-mail addresses (lower case), comma-separated, sorted.';
comment on column marts.dim_customer.first_order_at is 'Local date of the first order in marts.fct_order.';
comment on column marts.dim_customer.first_transaction_at is 'Earliest of first_order_at and the customer list''s first transaction date (SPEC 7 new customer).';
comment on column marts.dim_customer.first_thread_at is 'First message of the customer''s first thread (UTC).';
comment on column marts.dim_customer.n_threads is 'Threads of the customer over all channels.';
comment on column marts.dim_customer.n_orders is 'Orders of the customer.';
comment on column marts.dim_customer.channels is 'Channels with a thread of the customer, comma-separated, sorted (email, marketplace, whatsapp, ...).';
comment on column marts.dim_customer.source_keys is 'Keys that resolved to this customer (thread and order keys), comma-separated, sorted.';

create table if not exists marts.manual_case_resolution (
    override_key       varchar   not null primary key,
    thread_id          varchar   not null,
    case_ref           varchar   not null,
    resolved_at        timestamptz,
    resolved_at_local  timestamp,
    resolution         varchar   not null,
    note               varchar,
    source_file        varchar   not null,
    source_line        bigint    not null,
    file_seq           bigint    not null
);
comment on table marts.manual_case_resolution is 'Case resolutions written by people (SPEC 3, 7): they always win over the resolution heuristics. One row per thread and case reference; the later-loaded file wins.';
comment on column marts.manual_case_resolution.override_key is 'thread_id|case_ref: the natural key.';
comment on column marts.manual_case_resolution.thread_id is 'Thread of the case (marts.fct_thread).';
comment on column marts.manual_case_resolution.case_ref is 'Which case of the thread: the case id or the local date-time it opened as written in the file; empty = the thread''s open case.';
comment on column marts.manual_case_resolution.resolved_at is 'When the case was resolved (UTC); null with resolution unresolved.';
comment on column marts.manual_case_resolution.resolved_at_local is 'The same, local time as written.';
comment on column marts.manual_case_resolution.resolution is 'resolved | unresolved.';
comment on column marts.manual_case_resolution.note is 'Free text of the reviewer.';
comment on column marts.manual_case_resolution.source_file is 'File the row came from.';
comment on column marts.manual_case_resolution.source_line is 'Row of that file.';
comment on column marts.manual_case_resolution.file_seq is 'Ingest sequence number of that file.';

create table if not exists marts.manual_intent_label (
    label_key            varchar   not null primary key,
    thread_id            varchar,
    question_message_id  varchar,
    intent               varchar   not null,
    note                 varchar,
    source_file          varchar   not null,
    source_line          bigint    not null,
    file_seq             bigint    not null
);
comment on table marts.manual_intent_label is 'Intent labels written by people (SPEC 7): they override the keyword rules. A label on a question (pair / question message id) wins over a label on its whole thread; the later-loaded file wins per key.';
comment on column marts.manual_intent_label.label_key is 'question_message_id when given, else thread:<thread_id>.';
comment on column marts.manual_intent_label.thread_id is 'Thread labelled (all its queues), or the thread of the question.';
comment on column marts.manual_intent_label.question_message_id is 'Queue labelled: marts.fct_reply_pair.question_message_id (= pair_id).';
comment on column marts.manual_intent_label.intent is 'complaint | quote_request | order | other.';
comment on column marts.manual_intent_label.note is 'Free text of the reviewer.';
comment on column marts.manual_intent_label.source_file is 'File the row came from.';
comment on column marts.manual_intent_label.source_line is 'Row of that file.';
comment on column marts.manual_intent_label.file_seq is 'Ingest sequence number of that file.';

create table if not exists staging.stg_row_key (
    row_key varchar not null
);
comment on table staging.stg_row_key is 'Natural keys of the row-table rows being merged (bound key list; emptied after use).';
comment on column staging.stg_row_key.row_key is 'Natural key value.';

comment on column audit.file_manifest.source_kind is 'whatsapp | canonical | email | marketplace | orders | customer_list | customer_map | manual_case_resolution | manual_intent_label (a .csv / .xlsx is recognised by its header, docs/INPUTS.md).';
