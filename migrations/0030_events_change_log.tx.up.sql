-- Change capture (platform/events): every committed change of a user table,
-- the sanitized changes of some of SelfDB's own tables, and schema changes,
-- as one ordered log that every instance reads. Rows carry the data; the
-- notification carries nothing (so no row size can fail a write, and a
-- transaction's notifications collapse into one wake-up), and is sent only
-- while some reader is not already polling (see change_readers).
CREATE TABLE selfdb.change_log (
    id         bigserial PRIMARY KEY,
    -- a user table's name; 'selfdb.<name>' for SelfDB's own tables; '' for DDL
    table_name text NOT NULL,
    -- INSERT, UPDATE, DELETE, or DDL (schema changed)
    op         text NOT NULL,
    -- json, not jsonb: cheaper to write, and keeps the columns' order
    row        json,
    old_row    json,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
-- Ids must be handed out in order: no per-session cache.
ALTER SEQUENCE selfdb.change_log_id_seq CACHE 1;

-- The readers (one per server process): while a reader polls the log often
-- (hot_until in the future), writers skip pg_notify. A NOTIFY takes a
-- database-wide lock from commit until the commit is flushed, so notifying
-- transactions commit one at a time; under load that cost most of the
-- insert throughput. A reader that heard nothing for a while goes cold and
-- is woken by the next change's notification.
CREATE TABLE selfdb.change_readers (
    instance  uuid PRIMARY KEY,
    hot_until timestamptz NOT NULL,
    seen_at   timestamptz NOT NULL DEFAULT now()
);

-- Up to which id the log has been pruned (a resume from before is refused).
CREATE TABLE selfdb.change_log_state (
    singleton      boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    pruned_through bigint NOT NULL DEFAULT 0
);
INSERT INTO selfdb.change_log_state DEFAULT VALUES;

-- The capture trigger of user tables. SECURITY DEFINER: a role that may write
-- a user table but not selfdb's may still be captured.
CREATE FUNCTION selfdb.capture_change() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    INSERT INTO selfdb.change_log (table_name, op, row, old_row)
    VALUES (TG_TABLE_NAME, TG_OP,
            CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE to_json(NEW) END,
            CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE to_json(OLD) END);
    IF EXISTS (SELECT 1 FROM selfdb.change_readers WHERE hot_until < clock_timestamp()) THEN
        PERFORM pg_notify('selfdb_changes', '');
    END IF;
    RETURN NULL;
END $$;

-- The capture trigger of SelfDB's own tables: TG_ARGV names the columns that
-- never leave the database (password hashes, secrets); it is NULL, not
-- empty, for a trigger without arguments.
CREATE FUNCTION selfdb.capture_system() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    INSERT INTO selfdb.change_log (table_name, op, row, old_row)
    VALUES ('selfdb.' || TG_TABLE_NAME, TG_OP,
            CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE (to_jsonb(NEW) - coalesce(TG_ARGV, '{}'))::json END,
            CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE (to_jsonb(OLD) - coalesce(TG_ARGV, '{}'))::json END);
    IF EXISTS (SELECT 1 FROM selfdb.change_readers WHERE hot_until < clock_timestamp()) THEN
        PERFORM pg_notify('selfdb_changes', '');
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER selfdb_capture AFTER INSERT OR UPDATE OR DELETE ON selfdb.users
    FOR EACH ROW EXECUTE FUNCTION selfdb.capture_system('hashed_password');
CREATE TRIGGER selfdb_capture AFTER INSERT OR UPDATE OR DELETE ON selfdb.buckets
    FOR EACH ROW EXECUTE FUNCTION selfdb.capture_system();
CREATE TRIGGER selfdb_capture AFTER INSERT OR UPDATE OR DELETE ON selfdb.files
    FOR EACH ROW EXECUTE FUNCTION selfdb.capture_system();
CREATE TRIGGER selfdb_capture AFTER INSERT OR UPDATE OR DELETE ON selfdb.table_policies
    FOR EACH ROW EXECUTE FUNCTION selfdb.capture_system();

-- ensure_capture attaches the capture trigger to every user table that lacks
-- it (partitions inherit their parent's) and returns how many it attached.
CREATE FUNCTION selfdb.ensure_capture() RETURNS integer
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    t record;
    n integer := 0;
BEGIN
    FOR t IN SELECT c.relname FROM pg_class c
             WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p') AND NOT c.relispartition
               AND NOT EXISTS (SELECT 1 FROM pg_trigger g WHERE g.tgrelid = c.oid AND g.tgname = 'selfdb_capture')
    LOOP
        EXECUTE format('CREATE OR REPLACE TRIGGER selfdb_capture AFTER INSERT OR UPDATE OR DELETE ON public.%I '
                       'FOR EACH ROW EXECUTE FUNCTION selfdb.capture_change()', t.relname);
        n := n + 1;
    END LOOP;
    RETURN n;
END $$;

-- Schema changes of public, from any client (REST, SQL console, psql): new
-- tables get the capture trigger in the same transaction, and a DDL event
-- tells every instance to drop what it cached about tables.
CREATE FUNCTION selfdb.on_ddl() RETURNS event_trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    objects text[];
BEGIN
    IF current_setting('selfdb.in_ddl_trigger', true) = 'on' THEN
        RETURN; -- the trigger's own CREATE TRIGGER
    END IF;
    IF TG_EVENT = 'sql_drop' THEN
        SELECT array_agg(DISTINCT object_identity) INTO objects
        FROM pg_event_trigger_dropped_objects() WHERE schema_name = 'public';
    ELSE
        SELECT array_agg(DISTINCT object_identity) INTO objects
        FROM pg_event_trigger_ddl_commands() WHERE schema_name = 'public';
    END IF;
    IF objects IS NULL THEN
        RETURN;
    END IF;
    PERFORM set_config('selfdb.in_ddl_trigger', 'on', true);
    PERFORM selfdb.ensure_capture();
    PERFORM set_config('selfdb.in_ddl_trigger', 'off', true);
    INSERT INTO selfdb.change_log (table_name, op, row)
    VALUES ('', 'DDL', json_build_object('tag', TG_TAG, 'objects', to_json(objects)));
    PERFORM pg_notify('selfdb_changes', '');
END $$;

-- Event triggers need a superuser. Without one, the server attaches capture
-- triggers itself (at start and after its own DDL) and polls for schema
-- changes, so plain-SQL tables are still captured, a little later.
DO $$
BEGIN
    CREATE EVENT TRIGGER selfdb_ddl ON ddl_command_end EXECUTE FUNCTION selfdb.on_ddl();
    CREATE EVENT TRIGGER selfdb_drop ON sql_drop EXECUTE FUNCTION selfdb.on_ddl();
EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE 'selfdb: no event triggers (needs a superuser); capture falls back to polling';
END $$;

SELECT selfdb.ensure_capture();
