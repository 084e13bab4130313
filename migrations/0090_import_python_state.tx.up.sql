-- Bookkeeping of `selfdb import-python` (cmd/selfdb/importpython), which
-- moves a Python SelfDB deployment into this database, run after run until
-- the cut-over.
--
-- import_python_objects: what the import created, by kind and the Python
-- id (a table's name for tables). A later run updates and deletes only
-- these, and refuses to touch anything else that holds the same id or name.
CREATE TABLE selfdb.import_python_objects (
    kind        text NOT NULL,
    source_id   text NOT NULL,
    imported_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (kind, source_id)
);

-- One row per run that changed something: the change-log position the run
-- left, so that the next run notices what the Go server wrote since (after
-- the cut-over) instead of overwriting it; and the xmin of the source
-- snapshot it read (a 64-bit transaction id), so that the next run reads
-- only the rows written since (xmin at or past it).
CREATE TABLE selfdb.import_python_runs (
    id                  bigserial PRIMARY KEY,
    source              text NOT NULL,
    started_at          timestamptz NOT NULL,
    finished_at         timestamptz NOT NULL DEFAULT now(),
    change_log_position bigint NOT NULL,
    source_xmin         bigint,
    summary             jsonb NOT NULL
);
