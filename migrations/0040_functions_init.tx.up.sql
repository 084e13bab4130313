-- Functions (modules/functions): TypeScript code run by the Deno runtime the
-- server supervises. Everything a runtime needs lives here, so any instance
-- runs any function: the code and its versions, env vars, the runs, and the
-- triggers' progress (schedule claims, change-log cursors, once completion).
--
-- owner_id has no ON DELETE action: deleting a user goes through the
-- functions service (users.OwnedData), which deletes their functions.
CREATE TABLE selfdb.functions (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name           text NOT NULL,
    description    text,
    code           text NOT NULL,
    is_active      boolean NOT NULL DEFAULT true,
    owner_id       uuid NOT NULL REFERENCES selfdb.users (id),
    version_number integer NOT NULL DEFAULT 1,
    -- triggers stored through the API; code_triggers are those the code
    -- declares (export const triggers / runOnce), found when it is saved.
    triggers       jsonb NOT NULL DEFAULT '[]',
    code_triggers  jsonb NOT NULL DEFAULT '[]',
    -- the version whose code_triggers are known (0: saved while no runtime
    -- could analyze it; analyzed when one starts).
    analyzed_version integer NOT NULL DEFAULT 0,
    timeout_ms     integer NOT NULL DEFAULT 30000,
    invoke_policy  text NOT NULL DEFAULT 'authenticated',
    -- changes with every env var change, so that runtimes reload the version.
    env_version    integer NOT NULL DEFAULT 0,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz,
    CONSTRAINT functions_name_key UNIQUE (name),
    CONSTRAINT functions_name_check CHECK (name ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
    CONSTRAINT functions_timeout_check CHECK (timeout_ms BETWEEN 100 AND 3600000),
    CONSTRAINT functions_invoke_policy_check CHECK (invoke_policy IN ('public', 'authenticated', 'superuser'))
);
CREATE INDEX functions_owner_idx ON selfdb.functions (owner_id);
CREATE INDEX functions_created_idx ON selfdb.functions (created_at, id);

-- Every saved code, newest version_number last.
CREATE TABLE selfdb.function_versions (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    function_id    uuid NOT NULL REFERENCES selfdb.functions (id) ON DELETE CASCADE,
    version_number integer NOT NULL,
    code           text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    created_by     uuid REFERENCES selfdb.users (id) ON DELETE SET NULL,
    CONSTRAINT function_versions_number_key UNIQUE (function_id, version_number)
);

-- A function's own environment (ctx.env); secret values never leave the
-- server except into the function itself.
CREATE TABLE selfdb.function_env (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    function_id uuid NOT NULL REFERENCES selfdb.functions (id) ON DELETE CASCADE,
    key         text NOT NULL,
    value       text NOT NULL,
    is_secret   boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz,
    CONSTRAINT function_env_key_key UNIQUE (function_id, key),
    CONSTRAINT function_env_key_check CHECK (key ~ '^[A-Za-z_][A-Za-z0-9_]{0,127}$')
);

-- One row per run, whatever triggered it; pruned after FUNCTIONS_LOG_RETENTION.
CREATE TABLE selfdb.function_runs (
    id             uuid PRIMARY KEY,
    function_id    uuid NOT NULL REFERENCES selfdb.functions (id) ON DELETE CASCADE,
    version_number integer NOT NULL,
    -- http, schedule, database, event, once
    trigger        text NOT NULL,
    -- success, error, timeout, unavailable
    status         text NOT NULL,
    http_status    integer,
    duration_ms    integer NOT NULL,
    started_at     timestamptz NOT NULL,
    logs           text NOT NULL DEFAULT '',
    error          text,
    -- the change-log id a database trigger delivered
    event_id       bigint
);
CREATE INDEX function_runs_function_started_idx ON selfdb.function_runs (function_id, started_at DESC);
CREATE INDEX function_runs_started_idx ON selfdb.function_runs (started_at);

-- Trigger progress, one row per function: the change-log cursor of its
-- database triggers (with the lease of the instance delivering them and the
-- retry back-off), and its once trigger's attempts and completion.
CREATE TABLE selfdb.function_state (
    function_id    uuid PRIMARY KEY REFERENCES selfdb.functions (id) ON DELETE CASCADE,
    db_cursor      bigint,
    db_attempts    integer NOT NULL DEFAULT 0,
    db_retry_at    timestamptz,
    lease_owner    text,
    lease_until    timestamptz,
    once_attempts  integer NOT NULL DEFAULT 0,
    once_next_at   timestamptz NOT NULL DEFAULT now(),
    once_done_at   timestamptz
);

-- The last scheduled time claimed per function and cron expression: an
-- instance runs a scheduled time only if its UPDATE moved last_at to it.
CREATE TABLE selfdb.function_schedules (
    function_id uuid NOT NULL REFERENCES selfdb.functions (id) ON DELETE CASCADE,
    cron        text NOT NULL,
    last_at     timestamptz NOT NULL,
    PRIMARY KEY (function_id, cron)
);

-- Live feeds for the admin UI: functions and env vars reach the change log
-- like SelfDB's other tables; env values never do.
CREATE TRIGGER selfdb_capture AFTER INSERT OR UPDATE OR DELETE ON selfdb.functions
    FOR EACH ROW EXECUTE FUNCTION selfdb.capture_system();
CREATE TRIGGER selfdb_capture AFTER INSERT OR UPDATE OR DELETE ON selfdb.function_env
    FOR EACH ROW EXECUTE FUNCTION selfdb.capture_system('value');
