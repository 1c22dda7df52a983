-- Intent of each customer queue, quote responses, complaint cases and follow-ups (SPEC 7).
-- Rebuilt per affected thread together with the reply pairs (delete + insert by thread_id in
-- the ingest transaction, kpi_transforms.cases.rebuild_case_facts). The flags that depend on
-- other threads or on orders (fct_case.is_repeat, fct_follow_up segment / is_ordered /
-- is_responded) are recomputed set-based over the whole tables after every rebuild and before
-- every KPI computation. Definitions: docs/DECISIONS_KPI.md.

alter table marts.fct_reply_pair add column if not exists intent varchar;
comment on column marts.fct_reply_pair.intent is 'complaint | quote_request | order | other: keyword rules over the text of all customer messages of the queue (kpi_transforms/intent_keywords.yaml; whole words, case-insensitive; complaint > quote_request > order); a row of marts.manual_intent_label wins.';

create table if not exists marts.fct_quote_response (
    pair_id              varchar   not null,
    thread_id            varchar   not null,
    customer_id          varchar,
    agent_id             varchar,
    question_at          timestamptz not null,
    question_at_local    timestamp not null,
    quote_message_id     varchar,
    quote_at             timestamptz,
    calendar_seconds     bigint,
    business_seconds     bigint,
    is_in_closed_period  boolean   not null
);
comment on table marts.fct_quote_response is 'One row per customer queue whose intent is quote_request, with the first human agent message at or after its question that carries a quote (a price such as Rp 12.500, 12rb, 12k, @12.500, 12.500/pcs, or a price list / penawaran / quotation). Requests waiting together share the quote that answers them (SPEC 7, seed 000 Quote Response Speed).';
comment on column marts.fct_quote_response.pair_id is 'The quote-request queue (marts.fct_reply_pair.pair_id).';
comment on column marts.fct_quote_response.thread_id is 'Thread of the request (marts.fct_thread).';
comment on column marts.fct_quote_response.customer_id is 'Customer of the thread.';
comment on column marts.fct_quote_response.agent_id is 'Agent who sent the quote; without a quote yet the agent of the queue (its replier, else the thread''s primary agent).';
comment on column marts.fct_quote_response.question_at is 'When the request queue started (UTC).';
comment on column marts.fct_quote_response.question_at_local is 'The same, local time: the period of the request is its local date.';
comment on column marts.fct_quote_response.quote_message_id is 'The agent message carrying the quote; null while no quote was sent.';
comment on column marts.fct_quote_response.quote_at is 'When the quote was sent (UTC); null while no quote was sent.';
comment on column marts.fct_quote_response.calendar_seconds is 'quote_at - question_at in seconds (nights and holidays included).';
comment on column marts.fct_quote_response.business_seconds is 'Working seconds from question_at to quote_at (business calendar of the config): the quote_response_avg measure.';
comment on column marts.fct_quote_response.is_in_closed_period is 'The request was sent inside a closed period / store holiday mode: left out of quote_response_avg like other response-speed measures.';

create table if not exists marts.fct_case (
    case_id                          varchar   not null,
    thread_id                        varchar   not null,
    customer_id                      varchar,
    agent_id                         varchar,
    category                         varchar   not null,
    opened_at                        timestamptz not null,
    opened_at_local                  timestamp not null,
    first_response_at                timestamptz,
    first_response_business_seconds  bigint,
    resolved_at                      timestamptz,
    resolution_source                varchar,
    resolution_message_id            varchar,
    resolution_business_seconds      bigint,
    closed_at                        timestamptz,
    status                           varchar   not null,
    is_repeat                        boolean   not null default false,
    is_in_closed_period              boolean   not null
);
comment on table marts.fct_case is 'One row per complaint case (SPEC 7, seed 000 Komplain): opens at a complaint queue when the thread has no open case; resolved by an agent resolution phrase, a customer confirmation or the manual resolutions file (which wins); closed as unresolved 30 x 24 h after opening.';
comment on column marts.fct_case.case_id is 'Deterministic id: the pair_id (first customer message id) of the complaint queue that opened the case.';
comment on column marts.fct_case.thread_id is 'Thread of the case (marts.fct_thread).';
comment on column marts.fct_case.customer_id is 'Customer of the thread.';
comment on column marts.fct_case.agent_id is 'Agent of the opening queue: who gave the first response, else the thread''s primary agent. Case KPIs belong to this agent.';
comment on column marts.fct_case.category is 'kurang | rusak | salah_kirim | telat | lainnya, from the words of the opening queue (complaint_categories in intent_keywords.yaml; the first listed category that matches wins).';
comment on column marts.fct_case.opened_at is 'Question time of the opening complaint queue (UTC).';
comment on column marts.fct_case.opened_at_local is 'The same, local time: the period of the case is its local date.';
comment on column marts.fct_case.first_response_at is 'First human agent reply after the case opened (the reply of the opening queue); null if none yet.';
comment on column marts.fct_case.first_response_business_seconds is 'Working seconds from opened_at to first_response_at: the complaint_response_avg measure.';
comment on column marts.fct_case.resolved_at is 'When the case was resolved (UTC); null unless status = resolved.';
comment on column marts.fct_case.resolution_source is 'agent_phrase (agent message with a resolution phrase) | customer_confirmation (customer confirms after the first response) | manual (marts.manual_case_resolution, wins) | unresolved (nothing within 30 x 24 h); null while open.';
comment on column marts.fct_case.resolution_message_id is 'The message that resolved the case (agent_phrase, customer_confirmation), else null.';
comment on column marts.fct_case.resolution_business_seconds is 'Working seconds from opened_at to resolved_at: the complaint_resolution_avg measure (resolved cases only).';
comment on column marts.fct_case.closed_at is 'resolved_at, or opened_at + 30 x 24 h for an unresolved case (a manual unresolved row may give its own time); null while open.';
comment on column marts.fct_case.status is 'open | resolved | unresolved. Open: no resolution yet and the data horizon (latest message loaded) is less than 30 x 24 h after opening.';
comment on column marts.fct_case.is_repeat is 'The previous case of the same customer and category (any thread or channel) opened at most 30 x 24 h before this one: repeat_complaint_rate. Recomputed over the whole table after every rebuild.';
comment on column marts.fct_case.is_in_closed_period is 'The opening complaint was sent inside a closed period / store holiday mode: left out of complaint_response_avg (a response-speed measure), counted everywhere else.';

create table if not exists marts.fct_follow_up (
    follow_up_id              varchar   not null,
    thread_id                 varchar   not null,
    customer_id               varchar,
    agent_id                  varchar,
    followed_up_at            timestamptz not null,
    followed_up_at_local      timestamp not null,
    n_messages                bigint    not null,
    last_customer_message_at  timestamptz,
    customer_replied_at       timestamptz,
    is_responded              boolean,
    segment                   varchar,
    ordered_on                date,
    is_ordered                boolean
);
comment on table marts.fct_follow_up is 'One row per follow-up (SPEC 7, seeds 000 and 001): a run of agent-initiated messages (sent while no customer queue is open) at least 24 h after the customer''s last message; consecutive outreach messages are one follow-up until the customer writes or 24 h pass between two of them.';
comment on column marts.fct_follow_up.follow_up_id is 'Deterministic id: the message_id of the follow-up''s first message.';
comment on column marts.fct_follow_up.thread_id is 'Thread of the follow-up (marts.fct_thread).';
comment on column marts.fct_follow_up.customer_id is 'Customer of the thread (first customer_id in thread order).';
comment on column marts.fct_follow_up.agent_id is 'Agent who sent the first message of the follow-up.';
comment on column marts.fct_follow_up.followed_up_at is 'First message of the follow-up (UTC).';
comment on column marts.fct_follow_up.followed_up_at_local is 'The same, local time: the period of the follow-up is its local date.';
comment on column marts.fct_follow_up.n_messages is 'Agent messages in the follow-up.';
comment on column marts.fct_follow_up.last_customer_message_at is 'The customer''s last message before the follow-up (at least 24 h earlier); null if the customer had not written yet.';
comment on column marts.fct_follow_up.customer_replied_at is 'First customer message after the follow-up started, at any time; null if none.';
comment on column marts.fct_follow_up.is_responded is 'The customer wrote within 7 x 24 h after followed_up_at; null while that window is still open at the data horizon (latest message loaded).';
comment on column marts.fct_follow_up.segment is 'existing (an order of the customer dated before the follow-up''s local date, or a customer-list first transaction before it) | new. Recomputed from marts.fct_order, marts.ref_customer_list and marts.dim_customer after every rebuild and before every KPI computation.';
comment on column marts.fct_follow_up.ordered_on is 'Date of the customer''s first order from the follow-up''s local date to 30 days after it; null if none.';
comment on column marts.fct_follow_up.is_ordered is 'An order within those 30 days (followup_conversion_rate for new, reorder_rate for existing customers); false once the sales report reaches 30 days past the follow-up without one; null while pending.';
