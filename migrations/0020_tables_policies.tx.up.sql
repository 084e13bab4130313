-- Access policy of each user table (api.md §6.1). Keyed by table name; a
-- table without a row gets the default policy when first seen. table_oid
-- lets the SQL console follow a rename done in SQL (the policy moves with
-- the table instead of the renamed table falling back to the default).
CREATE TABLE selfdb.table_policies (
    table_name   text PRIMARY KEY,
    read_level   text NOT NULL DEFAULT 'authenticated',
    insert_level text NOT NULL DEFAULT 'authenticated',
    update_level text NOT NULL DEFAULT 'authenticated',
    delete_level text NOT NULL DEFAULT 'authenticated',
    owner_column text,
    table_oid    oid,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT table_policies_levels CHECK (
        read_level   IN ('public', 'authenticated', 'owner', 'superuser') AND
        insert_level IN ('public', 'authenticated', 'owner', 'superuser') AND
        update_level IN ('public', 'authenticated', 'owner', 'superuser') AND
        delete_level IN ('public', 'authenticated', 'owner', 'superuser'))
);
