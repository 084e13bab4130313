-- The size a client declared at initiate-upload (api.md §5, amended): a
-- pending file reports it as its size, and a PUT whose body has another
-- length is refused (400 size_mismatch). NULL when none was declared; a
-- ready file's size column is always the bytes stored.
ALTER TABLE selfdb.files
    ADD COLUMN declared_size bigint,
    ADD CONSTRAINT files_declared_size_check CHECK (declared_size >= 0);
