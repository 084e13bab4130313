// SelfDB functions runtime: the main isolate of the Deno process the server
// supervises (modules/functions/runtime.go).
//
// It runs no function code itself. It serves the server over loopback HTTP
// (every request must carry the per-boot secret the server wrote on stdin),
// keeps the loaded function versions, runs each version in isolates of its
// own (Node worker threads started from worker.js, whose source the server
// prepends as WORKER_URL), enforces timeouts, and reports every run's outcome
// and console output to the server as one line on stdout, prefixed with the
// secret so that nothing else written there can pass for a record. The
// process ends when stdin closes (the server is gone).
//
// Routes (all need the x-selfdb-secret header):
//   PUT    /fn/{key}   load a version: {fn, name, code, env, secrets}
//   DELETE /fn/{fn}    drop every version of a function
//   POST   /check      analyze code in a throwaway isolate: {name, code}
//   POST   /run        run: the x-selfdb-call header (JSON) describes the
//                      call, the body is the function's request body
//   GET    /stats      process memory, isolates and runs
import { Worker } from "node:worker_threads";

const args = Object.fromEntries(Deno.args.map((a) => a.replace(/^--/, "").split("=")));
const MEMORY_MB = Number(args["memory-mb"] ?? 128);
const YOUNG_MB = Math.max(4, Math.min(32, Math.floor(MEMORY_MB / 8)));
const IDLE_MS = Number(args["idle-ms"] ?? 300000);
const LOAD_TIMEOUT_MS = 10000;
const STOP_GRACE_MS = 1000;
const LOG_CAP = 64 << 10;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

// --- the server's side: stdin (secret, then end of life) and stdout (records)

const stdin = Deno.stdin.readable.getReader();
async function readSecret() {
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await stdin.read();
    if (done) Deno.exit(0);
    text += decoder.decode(value);
  }
  return text.slice(0, text.indexOf("\n")).trim();
}
const secret = await readSecret();
(async () => {
  try {
    while (!(await stdin.read()).done) {
      // nothing else comes on stdin
    }
  } catch {
    // closed
  }
  Deno.exit(0);
})();

// Records written within one turn of the event loop go out in one write.
let pending = "";
function record(obj) {
  if (pending === "") setTimeout(flushRecords, 0);
  pending += `${secret} ${JSON.stringify(obj)}\n`;
}
function flushRecords() {
  const bytes = encoder.encode(pending);
  pending = "";
  let off = 0;
  while (off < bytes.length) off += Deno.stdout.writeSync(bytes.subarray(off));
}

function authorized(req) {
  const got = req.headers.get("x-selfdb-secret") ?? "";
  if (got.length !== secret.length) return false;
  let diff = 0;
  for (let i = 0; i < got.length; i++) diff |= got.charCodeAt(i) ^ secret.charCodeAt(i);
  return diff === 0;
}

const json = (value, status = 200, headers = {}) =>
  new Response(JSON.stringify(value), { status, headers: { "content-type": "application/json", ...headers } });

// --- versions and their isolates -----------------------------------------------

const defs = new Map(); // key -> {key, fn, name, code, env, secrets}
const pools = new Map(); // key -> the isolate serving new runs of that version
const retired = new Set(); // isolates that take no new runs and end when idle
let runCount = 0;

class LoadError extends Error {
  constructor(m) {
    super(m.message);
    this.line = m.line;
    this.column = m.column;
  }
}

class Isolate {
  constructor(def, analyze = false) {
    this.def = def;
    this.analyze = analyze;
    this.runs = new Map();
    this.used = Date.now();
    this.closed = false;
    this.loaded = false;
    this.oom = false;
    this.acks = new Map();
    this.ready = new Promise((resolve, reject) => {
      this.resolveReady = resolve;
      this.rejectReady = reject;
    });
    this.ready.catch(() => {});
    this.worker = new Worker(new URL(WORKER_URL), {
      resourceLimits: { maxOldGenerationSizeMb: MEMORY_MB, maxYoungGenerationSizeMb: YOUNG_MB },
    });
    this.worker.on("message", (m) => this.onMessage(m));
    this.worker.on("error", (e) => {
      if (e?.code === "ERR_WORKER_OUT_OF_MEMORY") this.oom = true;
    });
    this.worker.on("exit", () => this.onExit());
  }

  post(m) {
    if (!this.closed) this.worker.postMessage(m);
  }

  onMessage(m) {
    switch (m.t) {
      case "started":
        this.post({
          t: "init", name: this.def.name, code: this.def.code, env: this.def.env,
          secrets: this.def.secrets, memoryBytes: MEMORY_MB << 20, analyze: this.analyze,
        });
        return;
      case "ready":
      case "analysis":
        this.loaded = true;
        this.resolveReady(m);
        return;
      case "loadError":
        this.rejectReady(new LoadError(m));
        return;
      case "cancelled":
        this.acks.get(m.id)?.();
        return;
    }
    this.runs.get(m.id)?.onMessage(m);
  }

  onExit() {
    this.closed = true;
    this.rejectReady(new Error(this.oom ? "the isolate ran out of memory" : "the isolate exited while loading"));
    this.forget();
    const [outcome, why] = this.oom
      ? ["memory", `Memory limit exceeded (${MEMORY_MB} MB)`]
      : ["crashed", "The function's isolate exited"];
    for (const run of [...this.runs.values()]) run.fail(outcome, why);
  }

  forget() {
    if (pools.get(this.def.key) === this) pools.delete(this.def.key);
    retired.delete(this);
  }

  // retire lets the runs in flight finish and then ends the isolate.
  retire() {
    this.forget();
    if (this.closed) return;
    if (this.runs.size === 0) this.kill();
    else retired.add(this);
  }

  kill() {
    this.forget();
    if (!this.closed) {
      this.closed = true;
      this.worker.terminate();
    }
  }

  // stop ends a run that outlived its timeout (already finished, so no
  // longer among runs). The isolate takes no new runs from then on; with no
  // other run it ends at once. With others, a responsive isolate confirms
  // the cancel and ends once they are done (the timed-out run's pending
  // callbacks end with it); one that does not answer is stuck in that run's
  // code (an endless loop, or at its heap limit) and is terminated with
  // whatever else it was running.
  stop(id) {
    if (this.closed) return;
    this.forget(); // new runs get a fresh isolate meanwhile
    if (this.runs.size === 0) {
      this.kill(); // nothing else to wait for
      return;
    }
    const acked = new Promise((resolve) => this.acks.set(id, () => resolve(true)));
    this.post({ t: "cancel", id });
    Promise.race([acked, new Promise((r) => setTimeout(() => r(false), STOP_GRACE_MS))]).then((ok) => {
      this.acks.delete(id);
      if (ok) {
        this.retire();
        return;
      }
      this.kill();
      for (const run of [...this.runs.values()]) {
        run.timeout("another run of this function blocked its isolate past its timeout");
      }
    });
  }

  idle() {
    if (this.runs.size === 0) this.used = Date.now();
  }
}

function isolateFor(def) {
  let iso = pools.get(def.key);
  if (!iso || iso.closed) {
    iso = new Isolate(def);
    pools.set(def.key, iso);
    iso.ready.catch(() => iso.kill());
  }
  return iso;
}

setInterval(() => {
  const now = Date.now();
  for (const iso of [...pools.values()]) {
    if (iso.runs.size === 0 && now - iso.used > IDLE_MS) iso.kill();
  }
}, Math.min(IDLE_MS, 10000));

function within(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(what)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

// --- runs ---------------------------------------------------------------------

const NULL_BODY = new Set([101, 103, 204, 205, 304]);
const DROPPED_HEADERS = new Set(["content-length", "transfer-encoding", "connection", "keep-alive"]);

class Run {
  constructor(call, body) {
    this.call = call;
    this.id = call.run;
    this.body = body ? body.getReader() : null;
    this.started = performance.now();
    this.logs = [];
    this.logBytes = 0;
    this.iso = null;
    this.done = false;
    this.headSent = false;
    this.status = 0;
    this.controller = null;
    this.pulling = null;
    this.response = new Promise((resolve) => (this.respond = resolve));
  }

  async start() {
    runCount++;
    const def = defs.get(this.call.key);
    try {
      this.iso = isolateFor(def);
      this.iso.runs.set(this.id, this);
      // Starting an isolate (a cold start) is not the run's time; loading
      // the module has a limit of its own.
      if (!this.iso.loaded) {
        await within(this.iso.ready, LOAD_TIMEOUT_MS, `the module did not finish loading within ${LOAD_TIMEOUT_MS / 1000}s`);
      }
    } catch (e) {
      const what = e instanceof LoadError ? `The function failed to load: ${e.message}` : e.message;
      this.iso?.kill();
      this.fail("error", what);
      return this.response;
    }
    if (this.done) return this.response;
    this.timer = setTimeout(() => this.timeout(), this.call.timeoutMs);
    this.iso.post({
      t: "run", id: this.id, method: this.call.method, url: this.call.url, headers: this.call.headers,
      hasBody: this.body !== null, api: this.call.api,
    });
    return this.response;
  }

  onMessage(m) {
    switch (m.t) {
      case "log":
        this.log(m.text);
        break;
      case "pullReq":
        this.feed();
        break;
      case "head":
        this.head(m);
        break;
      case "res":
        this.chunk(m);
        break;
      case "end":
        this.finish(m.ok ? "ok" : "error", m.error ?? "", m.status);
        break;
    }
  }

  log(text) {
    if (this.logBytes > LOG_CAP) return;
    this.logBytes += text.length + 1;
    this.logs.push(this.logBytes > LOG_CAP ? `${text.slice(0, 200)}\n[logs truncated at 64 KB]` : text);
  }

  async feed() {
    let m;
    try {
      const { value, done } = this.body ? await this.body.read() : { done: true };
      m = done ? { done: true } : { chunk: value };
    } catch (e) {
      m = { error: `reading the request body: ${e.message}` };
    }
    this.iso?.post({ t: "req", id: this.id, ...m });
  }

  head(m) {
    if (this.done && this.headSent) return;
    this.headSent = true;
    this.status = m.status;
    const headers = new Headers();
    for (const [k, v] of m.headers) if (!DROPPED_HEADERS.has(k)) headers.append(k, v);
    let body = null;
    if (!NULL_BODY.has(m.status)) {
      if (m.done) {
        body = m.chunk;
      } else {
        body = new ReadableStream({
          start: (c) => {
            this.controller = c;
            if (m.chunk) c.enqueue(m.chunk);
          },
          pull: () =>
            new Promise((resolve) => {
              this.pulling = resolve;
              this.iso?.post({ t: "pull", id: this.id });
            }),
          cancel: () => this.abandon(),
        }, { highWaterMark: 0 });
      }
    }
    this.respond(new Response(body, { status: m.status, statusText: m.statusText, headers }));
  }

  chunk(m) {
    const c = this.controller;
    const resolve = this.pulling;
    this.pulling = null;
    if (c) {
      try {
        if (m.error) c.error(new Error(m.error));
        else if (m.done) c.close();
        else c.enqueue(m.chunk);
      } catch {
        // the client is gone
      }
    }
    resolve?.();
  }

  // abandon: the server stopped reading the response (its client left).
  abandon() {
    if (this.done) return;
    this.iso?.post({ t: "cancel", id: this.id });
    this.finish("error", "The client went away before the response was complete");
  }

  timeout(why) {
    if (this.done) return;
    const ms = this.call.timeoutMs;
    const iso = this.iso;
    this.finish("timeout", why ? `Timed out: ${why}` : `Function execution timed out after ${ms} ms`, 504);
    if (!this.headSent) {
      this.headSent = true;
      this.respond(json({ error: "Function execution timed out" }, 504));
    } else {
      try {
        this.controller?.error(new Error("Function execution timed out"));
      } catch {
        // already closed
      }
      this.pulling?.();
    }
    if (iso && !why) iso.stop(this.id);
  }

  fail(outcome, message) {
    if (this.done) return;
    this.finish(outcome, message, 500);
    if (!this.headSent) {
      this.headSent = true;
      this.respond(json({ error: "Function execution failed", message }, 500));
    } else {
      try {
        this.controller?.error(new Error(message));
      } catch {
        // already closed
      }
      this.pulling?.();
    }
  }

  finish(outcome, error, status) {
    if (this.done) return;
    this.done = true;
    clearTimeout(this.timer);
    if (this.iso) {
      this.iso.runs.delete(this.id);
      this.iso.idle();
      if (retired.has(this.iso) && this.iso.runs.size === 0) this.iso.kill();
    }
    this.body?.cancel().catch(() => {});
    record({
      t: "run", run: this.id, outcome, status: status ?? this.status,
      ms: Math.round(performance.now() - this.started), logs: this.logs.join("\n"), error: error ?? "",
    });
  }
}

// The x-selfdb-call header is JSON in ASCII (the server escapes the rest).
const decodeCall = (header) => JSON.parse(header);

async function run(req) {
  const call = decodeCall(req.headers.get("x-selfdb-call") ?? "");
  if (!defs.has(call.key)) {
    return json({ error: "unknown function version" }, 404, { "x-selfdb-runtime": "unknown-function" });
  }
  // A client that leaves is noticed when the server stops reading the
  // response (the stream's cancel); until then the run goes on, bounded by
  // its timeout.
  return await new Run(call, call.hasBody ? req.body : null).start();
}

async function check(req) {
  const { name, code } = await req.json();
  const iso = new Isolate({ key: "", fn: "", name, code, env: {}, secrets: [] }, true);
  try {
    const a = await within(iso.ready, LOAD_TIMEOUT_MS, `the module did not finish loading within ${LOAD_TIMEOUT_MS / 1000}s`);
    return json({ ok: true, hasDefault: a.hasDefault, triggers: a.triggers, description: a.description, runOnce: a.runOnce });
  } catch (e) {
    return json({ ok: false, message: e.message, line: e.line ?? 0, column: e.column ?? 0 });
  } finally {
    iso.kill();
  }
}

function load(key, def) {
  for (const [k, d] of [...defs]) {
    if (d.fn === def.fn && k !== key) {
      defs.delete(k);
      pools.get(k)?.retire();
    }
  }
  const old = defs.get(key);
  defs.set(key, { ...def, key });
  if (old) pools.get(key)?.retire();
}

function drop(fn) {
  for (const [k, d] of [...defs]) {
    if (d.fn === fn) {
      defs.delete(k);
      pools.get(k)?.retire();
    }
  }
}

async function handle(req) {
  if (!authorized(req)) return json({ error: "unauthorized" }, 401);
  const path = new URL(req.url).pathname;
  try {
    if (req.method === "POST" && path === "/run") return await run(req);
    if (req.method === "PUT" && path.startsWith("/fn/")) {
      load(decodeURIComponent(path.slice(4)), await req.json());
      return json({ ok: true });
    }
    if (req.method === "DELETE" && path.startsWith("/fn/")) {
      drop(decodeURIComponent(path.slice(4)));
      return json({ ok: true });
    }
    if (req.method === "POST" && path === "/check") return await check(req);
    if (req.method === "GET" && path === "/stats") {
      let busy = 0;
      for (const iso of pools.values()) busy += iso.runs.size;
      return json({
        rss: Deno.memoryUsage().rss, isolates: pools.size + retired.size, versions: defs.size,
        running: busy, runs: runCount,
      });
    }
    return json({ error: "not found" }, 404);
  } catch (e) {
    return json({ error: String(e?.message ?? e) }, 500);
  }
}

Deno.serve({
  hostname: "127.0.0.1",
  port: 0,
  onListen: ({ port }) => record({ t: "ready", port, pid: Deno.pid }),
  onError: (e) => json({ error: String(e?.message ?? e) }, 500),
}, handle);
