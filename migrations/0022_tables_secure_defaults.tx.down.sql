-- The levels the default rule gave are written out, so no table becomes
-- more open than it was.
UPDATE selfdb.table_policies
SET update_level = coalesce(update_level, CASE WHEN owner_column IS NULL THEN 'superuser' ELSE 'owner' END),
    delete_level = coalesce(delete_level, CASE WHEN owner_column IS NULL THEN 'superuser' ELSE 'owner' END)
WHERE update_level IS NULL OR delete_level IS NULL;
ALTER TABLE selfdb.table_policies
    ALTER COLUMN update_level SET DEFAULT 'authenticated',
    ALTER COLUMN update_level SET NOT NULL,
    ALTER COLUMN delete_level SET DEFAULT 'authenticated',
    ALTER COLUMN delete_level SET NOT NULL;
