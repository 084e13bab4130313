-- File metadata (modules/files); the bytes are at STORAGE_PATH/<bucket_id>/<object_name>.
-- A row is 'pending' from initiate-upload until its bytes are fsynced and
-- renamed into place; only then 'ready' with the stored size and SHA-256.
CREATE TABLE selfdb.files (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    bucket_id         uuid NOT NULL REFERENCES selfdb.buckets (id) ON DELETE CASCADE,
    object_name       text NOT NULL,
    filename          text NOT NULL,
    content_type      text,
    size              bigint NOT NULL DEFAULT 0,
    checksum_sha256   text,
    status            text NOT NULL DEFAULT 'pending',
    owner_id          uuid NOT NULL REFERENCES selfdb.users (id),
    upload_expires_at timestamptz NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz,
    CONSTRAINT files_bucket_object_key UNIQUE (bucket_id, object_name),
    CONSTRAINT files_status_check CHECK (status IN ('pending', 'ready')),
    CONSTRAINT files_size_check CHECK (size >= 0)
);
-- Bucket listings and the stats aggregate (ready rows of one bucket).
CREATE INDEX files_bucket_created_idx ON selfdb.files (bucket_id, created_at, id);
-- "My files" listings and user deletion.
CREATE INDEX files_owner_created_idx ON selfdb.files (owner_id, created_at, id);
-- The janitor's scan for expired uploads.
CREATE INDEX files_pending_expiry_idx ON selfdb.files (upload_expires_at) WHERE status = 'pending';
