DROP TABLE IF EXISTS selfdb.buckets;
