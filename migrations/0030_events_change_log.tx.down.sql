DROP EVENT TRIGGER IF EXISTS selfdb_ddl;
DROP EVENT TRIGGER IF EXISTS selfdb_drop;
DO $$
DECLARE
    t record;
BEGIN
    FOR t IN SELECT c.relname FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid
             WHERE c.relnamespace = 'public'::regnamespace AND g.tgname = 'selfdb_capture' AND g.tgparentid = 0
    LOOP
        EXECUTE format('DROP TRIGGER selfdb_capture ON public.%I', t.relname);
    END LOOP;
END $$;
DROP TRIGGER IF EXISTS selfdb_capture ON selfdb.users;
DROP TRIGGER IF EXISTS selfdb_capture ON selfdb.buckets;
DROP TRIGGER IF EXISTS selfdb_capture ON selfdb.files;
DROP TRIGGER IF EXISTS selfdb_capture ON selfdb.table_policies;
DROP FUNCTION IF EXISTS selfdb.on_ddl();
DROP FUNCTION IF EXISTS selfdb.ensure_capture();
DROP FUNCTION IF EXISTS selfdb.capture_system();
DROP FUNCTION IF EXISTS selfdb.capture_change();
DROP TABLE IF EXISTS selfdb.change_log_state;
DROP TABLE IF EXISTS selfdb.change_readers;
DROP TABLE IF EXISTS selfdb.change_log;
