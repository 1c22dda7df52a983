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
