-- A run the SQL console recorded itself waits for the client's own report of
-- it: the original admin UI posts each query to /sql/history after running
-- it. The first such POST (same user, same query, same outcome) within a
-- minute returns the server's entry and clears the flag, instead of adding a
-- twin.
ALTER TABLE selfdb.sql_history ADD COLUMN awaiting_echo boolean NOT NULL DEFAULT false;
