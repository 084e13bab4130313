DROP TABLE IF EXISTS selfdb.table_policies;
