-- Buckets (modules/buckets). Bytes live on disk under STORAGE_PATH/<id>/, so a
-- rename never moves files. owner_id has no ON DELETE action on purpose:
-- deleting a user goes through the buckets service (users.OwnedData), which
-- also removes the bytes; a leftover row makes the user delete fail loudly
-- instead of orphaning files.
CREATE TABLE selfdb.buckets (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name        text NOT NULL,
    description text,
    is_public   boolean NOT NULL DEFAULT false,
    owner_id    uuid NOT NULL REFERENCES selfdb.users (id),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz,
    CONSTRAINT buckets_name_key UNIQUE (name),
    CONSTRAINT buckets_name_check CHECK (name ~ '^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$' AND position('..' IN name) = 0)
);
-- Listing pages in (created_at, id) order, per owner and for public buckets.
CREATE INDEX buckets_owner_created_idx ON selfdb.buckets (owner_id, created_at, id);
CREATE INDEX buckets_public_created_idx ON selfdb.buckets (created_at, id) WHERE is_public;
