-- The key that signs review sheets (issue 15): the hidden metadata of an exported audit sheet
-- carries an HMAC-SHA256 with this key, so editing the metadata and recomputing its hash is
-- not possible without warehouse access. One row, created on first use
-- (kpi_transforms.pipeline.audit.sheet_key); $CHATKPI_AUDIT_KEY overrides it. bi_reader has
-- no rights on the audit schema (V010).

create table if not exists audit.sheet_key (
    key_id      integer     not null primary key,
    key_hex     varchar     not null,
    created_at  timestamptz not null
);
comment on table audit.sheet_key is 'The secret that signs audit review sheets (HMAC-SHA256 of their hidden metadata). One row (key_id 1), made on first use; the environment variable CHATKPI_AUDIT_KEY takes precedence. Never exposed through the bi schema.';
comment on column audit.sheet_key.key_id is 'Always 1: the one key of this warehouse.';
comment on column audit.sheet_key.key_hex is '32 random bytes as hex (secrets.token_hex).';
comment on column audit.sheet_key.created_at is 'When the key was made; sheets exported before a key change can no longer be imported.';

-- Masking gaps (issue 15): the phone pattern of V009 missed numbers written in other groupings
-- ("0812 34 56 78 90", "0 8 1 2 ..."), full-width digits, and left the tail of a long digit run
-- ("08123456789012345" became "[telepon]45"); the e-mail pattern missed "budi @ gmail.com" and
-- quoted local parts ("budi"@x.id). Now a phone number is a prefix (+country, 62 or 0, ASCII or
-- full-width) followed by at least 8 more digits with at most two separators (space . - ( ))
-- between any two, and the whole run is masked. Prices (Rp 12.500.000), quantities and hours
-- (08.00-17.00: 7 digits after the 0) still are not phone numbers. The two views are the ones of
-- V009 with only these two patterns changed (create or replace keeps bi_reader's grants).

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
               regexp_replace(t.thread_name, '(^|[^0-9０-９.,+＋])([+＋] ?[0-9０-９]{1,3}|6 ?2|６２|[0０])([ .()-]{0,2}[0-9０-９]){8,}', '\1[telepon]', 'g'),
               '("[^"@\n]{1,64}"|[A-Za-z0-9._+-]+) ?[@＠] ?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+', '[email]', 'g') as name_masked,
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
               regexp_replace(msg.sender_name, '(^|[^0-9０-９.,+＋])([+＋] ?[0-9０-９]{1,3}|6 ?2|６２|[0０])([ .()-]{0,2}[0-9０-９]){8,}', '\1[telepon]', 'g'),
               '("[^"@\n]{1,64}"|[A-Za-z0-9._+-]+) ?[@＠] ?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+', '[email]', 'g') as sender_masked,
           regexp_replace(
               regexp_replace(msg.text, '(^|[^0-9０-９.,+＋])([+＋] ?[0-9０-９]{1,3}|6 ?2|６２|[0０])([ .()-]{0,2}[0-9０-９]){8,}', '\1[telepon]', 'g'),
               '("[^"@\n]{1,64}"|[A-Za-z0-9._+-]+) ?[@＠] ?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+', '[email]', 'g') as text_masked,
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

-- create or replace drops a view's comments on DuckDB: the ones of V009, again
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
