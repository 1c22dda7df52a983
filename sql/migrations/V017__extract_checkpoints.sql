-- Extraction checkpoints (issue 20): how far each IMAP folder and object-storage prefix has been
-- extracted into the landing folder. The extractors (kpi_transforms.extract) only *propose*
-- checkpoints; kpi_transforms.extract.checkpoints.stage_checkpoints writes them inside the
-- caller's transaction, so a checkpoint commits only with the batch that loaded its files.
-- One row per IMAP folder (object_key = '') and one per object-storage key.

create table if not exists audit.extract_checkpoint (
    checkpoint_key  varchar   not null primary key,
    source_kind     varchar   not null,
    source_name     varchar   not null,
    folder          varchar   not null,
    object_key      varchar   not null,
    uidvalidity     bigint,
    last_uid        bigint,
    etag            varchar,
    object_size     bigint,
    batch_id        varchar,
    updated_at      timestamptz not null
);
comment on table audit.extract_checkpoint is 'One row per extracted IMAP folder (object_key empty) or object-storage key: the position up to which its content is loaded. Written only inside the load transaction of the batch that loaded the files (kpi_transforms.extract.checkpoints.stage_checkpoints), never by the extractors themselves.';
comment on column audit.extract_checkpoint.checkpoint_key is 'Natural key as one string: source_kind, source_name, folder and object_key joined with U+001F.';
comment on column audit.extract_checkpoint.source_kind is 'Kind of source: imap (one mailbox folder) or s3 (one object-storage key).';
comment on column audit.extract_checkpoint.source_name is 'Name of the configured source (extract.imap[].name / extract.s3[].name); never a host name with credentials.';
comment on column audit.extract_checkpoint.folder is 'IMAP folder name (INBOX, Sent, ...) or the object-storage location as bucket/prefix.';
comment on column audit.extract_checkpoint.object_key is 'Object-storage key of the object; empty string for an IMAP folder.';
comment on column audit.extract_checkpoint.uidvalidity is 'IMAP UIDVALIDITY of the folder when it was read; a different value on the server means the UIDs were renumbered and the folder is read again (deduplicated by content). Null for object storage.';
comment on column audit.extract_checkpoint.last_uid is 'Highest IMAP UID extracted and loaded under that UIDVALIDITY; the next run fetches UIDs above it. Null for object storage.';
comment on column audit.extract_checkpoint.etag is 'ETag of the object version that was loaded; an object whose ETag differs is fetched again. Null for IMAP.';
comment on column audit.extract_checkpoint.object_size is 'Size in bytes of that object version. Null for IMAP.';
comment on column audit.extract_checkpoint.batch_id is 'Ingest batch whose transaction wrote this checkpoint (audit.batch.batch_id), if any.';
comment on column audit.extract_checkpoint.updated_at is 'When the checkpoint was written (UTC).';
