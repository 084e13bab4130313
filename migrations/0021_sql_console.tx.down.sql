DROP TABLE IF EXISTS selfdb.sql_history;
DROP TABLE IF EXISTS selfdb.sql_snippets;
