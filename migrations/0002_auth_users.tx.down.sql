DROP TABLE IF EXISTS selfdb.refresh_tokens;
DROP TABLE IF EXISTS selfdb.users;
