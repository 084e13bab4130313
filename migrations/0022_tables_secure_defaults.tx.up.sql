-- Secure table defaults (api.md §6.1, amended): a new table, or one first
-- seen after being created through SQL, may be read and inserted into by any
-- user; updated and deleted by the row's owner when the table has an owner
-- column, else by superusers only. The owner column may be set after the
-- table was first seen (a column added later), so update_level and
-- delete_level are NULL until someone chooses them, and NULL means that
-- rule, applied to the policy's current owner_column. Existing rows keep
-- their levels.
ALTER TABLE selfdb.table_policies
    ALTER COLUMN update_level DROP NOT NULL,
    ALTER COLUMN update_level DROP DEFAULT,
    ALTER COLUMN delete_level DROP NOT NULL,
    ALTER COLUMN delete_level DROP DEFAULT;
