DROP TABLE IF EXISTS selfdb.files;
