DROP TABLE IF EXISTS selfdb.function_schedules;
DROP TABLE IF EXISTS selfdb.function_state;
DROP TABLE IF EXISTS selfdb.function_runs;
DROP TABLE IF EXISTS selfdb.function_env;
DROP TABLE IF EXISTS selfdb.function_versions;
DROP TABLE IF EXISTS selfdb.functions;
