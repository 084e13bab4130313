// Package functions owns server-side functions (api.md §9): the
// /api/v1/functions routes, the tables selfdb.functions, function_versions,
// function_env, function_runs, function_state and function_schedules, and
// the Deno runtime that runs the code.
//
// Code and everything about it live in Postgres, so any instance runs any
// function and nothing is lost with a process. Saving code compiles and
// loads it in a throwaway isolate first: code that does not compile is
// refused (400 function_code_invalid with the compiler's message, line and
// column), and what it declares (export const triggers, runOnce) is stored
// as code_triggers beside the triggers set through the API. Without a
// runtime, code is saved unread and read when one starts.
//
// Runtime (runtime.go, runtime/*.js): one Deno process per instance,
// supervised as the worker functions.runtime (restarted with back-off when
// it exits or stops answering). The server starts it with only network
// permission (no env, files or subprocesses; its environment holds none of
// the server's variables) and its main module as a data URL, writes a
// per-boot secret on its stdin and talks to it over loopback HTTP with that
// secret; stdin closing ends it. Each function version runs in isolates of
// its own (Node worker threads: a V8 heap limit each, FUNCTIONS_MEMORY_MB,
// which also bounds its array buffers), started on first use and ended
// after FUNCTIONS_IDLE_TIMEOUT idle. A run past its timeout_ms is cancelled;
// an isolate that does not confirm (an endless loop, or stuck at its heap
// limit) is terminated, so the code really stops. Console output is
// captured per run (64 KB, secret values masked); the outcome comes back as
// a record on the runtime's stdout. Without a Deno binary (DENO_PATH, PATH,
// bin/tools/deno) the server runs and invocations answer 503 naming the fix.
//
// Invocation: ANY /invoke/{name}[/*] (JS SDK) and POST /{name} (Python
// SDK), per the function's invoke_policy (public, authenticated,
// superuser) and its http triggers' methods. The function gets the request
// as sent (streamed body under /invoke/), with X-User-Id, X-User-Role and
// X-Trigger-Type set by SelfDB; ctx = {env, callBackend} (and the env vars
// as ctx's own keys, as the Python version passed them); callBackend calls
// this API with the anon key and an access token of the function's owner.
//
// Triggers (triggers.go, triggers_run.go): schedule (five-field cron, UTC;
// each time claimed in function_schedules, so one instance runs it; missed
// times fire once), database (a cursor per function over the change log,
// one lease holder at a time, at least once in log order, retried with
// back-off; the payload is realtime's change and X-Event-Id its id), event
// (POST /events/{event}; every subscriber runs in the background), once
// (until it returns {"success": true}; completion stored).
//
// Cache: a call reads its function's row (without the code) from memcached,
// key functions:name:<name>, else Postgres. Every write drops the key
// before it answers (platform/cache's tombstones keep a slower reader from
// putting the old row back), so a change saved on any instance applies to
// the next call on every instance, memcached up or not. A runtime loads a
// version's code and env once per key (function, version, env version).
//
// Runs: every run is a row of function_runs (written in batches by
// functions.recorder) pruned after FUNCTIONS_LOG_RETENTION by
// functions.prune-runs on one instance at a time.
//
// Change log: selfdb.functions and selfdb.function_env reach it (env values
// never do) for the admin UI's live feeds.
//
// Metrics: selfdb_function_runs_total{function,trigger,status},
// selfdb_function_run_duration_seconds{function},
// selfdb_function_timeouts_total{function},
// selfdb_function_runs_unrecorded_total, selfdb_functions_runtime_up,
// selfdb_functions_runtime_starts_total, selfdb_functions_runtime_rss_bytes,
// selfdb_functions_runtime_isolates.
//
// Error codes: function_not_found, function_exists, invalid_function_name,
// function_code_invalid, invalid_trigger, invalid_timeout,
// invalid_invoke_policy, version_not_found, env_var_not_found,
// env_var_exists, invalid_env_key, template_not_found,
// function_not_invocable, function_method_not_allowed,
// functions_unavailable, plus not_authenticated, not_enough_privileges and
// validation_failed.
package functions
