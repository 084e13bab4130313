ALTER TABLE selfdb.files DROP COLUMN IF EXISTS declared_size;
