-- SelfDB's own tables live in the selfdb schema; public holds only users' tables.
CREATE SCHEMA IF NOT EXISTS selfdb;
