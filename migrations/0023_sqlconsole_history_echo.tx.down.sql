ALTER TABLE selfdb.sql_history DROP COLUMN IF EXISTS awaiting_echo;
