DROP TABLE IF EXISTS selfdb.import_python_runs;
DROP TABLE IF EXISTS selfdb.import_python_objects;
