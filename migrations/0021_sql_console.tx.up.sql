-- Saved SQL snippets and the SQL console's history (api.md §7). user_id has
-- no foreign key: the sqlconsole module deletes a user's rows through
-- users.OwnedData before the user goes.
CREATE TABLE selfdb.sql_snippets (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name        text NOT NULL,
    description text,
    sql_code    text NOT NULL,
    user_id     uuid NOT NULL,
    is_shared   boolean NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sql_snippets_user_idx ON selfdb.sql_snippets (user_id, created_at DESC);
CREATE INDEX sql_snippets_shared_idx ON selfdb.sql_snippets (created_at DESC) WHERE is_shared;

CREATE TABLE selfdb.sql_history (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id        uuid NOT NULL,
    query          text NOT NULL,
    is_read_only   boolean NOT NULL DEFAULT false,
    execution_time double precision NOT NULL DEFAULT 0,
    row_count      bigint,
    error          text,
    executed_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sql_history_user_idx ON selfdb.sql_history (user_id, executed_at DESC);
