// SelfDB functions runtime: the isolate of one function version.
//
// main.js starts this module as a Node worker thread of the runtime process,
// so it has the process's permissions (network only) and a V8 heap limit of
// its own. It locks down what the permissions leave open (signalling or
// ending the process, writing to the process's stdout), captures console
// output per run, imports the function's module and serves its runs. Every
// exchange with main.js is a message; bodies travel as chunks, pulled one at
// a time in both directions.
import { parentPort } from "node:worker_threads";
import { AsyncLocalStorage } from "node:async_hooks";
import { Console } from "node:console";
import { Writable } from "node:stream";
import process from "node:process";

const port = parentPort;
const runs = new Map(); // run id -> run
const current = new AsyncLocalStorage(); // the run id of the code running
const encoder = new TextEncoder();
const decoder = new TextDecoder();
let handler = null;
let moduleURL = "";
let fileName = "function.ts";
let env = Object.freeze({});
let secrets = [];
let memoryBytes = 128 << 20;
let lastRun = null;
const logCap = 64 << 10;

// --- lockdown ------------------------------------------------------------------

function denied(what) {
  return () => {
    throw new Deno.errors.NotCapable(`${what} is not available to SelfDB functions`);
  };
}
for (const name of ["kill", "exit"]) {
  Object.defineProperty(Deno, name, { value: denied(`Deno.${name}`), configurable: false, writable: false });
}
for (const name of ["exit", "kill", "abort", "reallyExit", "dlopen"]) {
  try {
    Object.defineProperty(process, name, { value: denied(`process.${name}`), configurable: false, writable: false });
  } catch {
    // not defined in this version: nothing to take away
  }
}

// The process's stdout carries main.js's records to the server: writes of
// the function's code go to its run log instead.
function captureStream(prefix) {
  const write = (p) => {
    log(prefix + (typeof p === "string" ? p : decoder.decode(p)));
    return p.length ?? 0;
  };
  return {
    write: (p) => Promise.resolve(write(p)),
    writeSync: write,
    writable: new WritableStream({ write: (p) => void write(p) }),
    isTerminal: () => false,
    close() {},
  };
}
for (const [name, prefix] of [["stdout", ""], ["stderr", "ERROR "]]) {
  Object.defineProperty(Deno, name, { value: captureStream(prefix), configurable: false });
  const stream = new Writable({
    write(chunk, _enc, cb) {
      log(prefix + (typeof chunk === "string" ? chunk : decoder.decode(chunk)));
      cb();
    },
  });
  try {
    Object.defineProperty(process, name, { value: stream, configurable: false });
  } catch {
    // keep the process's own; console below is what functions use
  }
}

// console: the common methods with a level prefix, the rest through a
// Node Console writing to the run log.
const sink = (prefix) =>
  new Writable({
    write(chunk, _enc, cb) {
      log(prefix + String(chunk).replace(/\n$/, ""));
      cb();
    },
  });
const fallback = new Console({ stdout: sink(""), stderr: sink("ERROR "), colorMode: false });
const format = (args) =>
  args.map((a) => (typeof a === "string" ? a : Deno.inspect(a, { depth: 4, colors: false }))).join(" ");
const levels = { log: "", info: "", debug: "", warn: "WARN ", error: "ERROR " };
const captured = Object.create(null);
for (const name of Object.getOwnPropertyNames(Object.getPrototypeOf(fallback)).concat(Object.keys(fallback))) {
  if (typeof fallback[name] === "function" && name !== "constructor") captured[name] = fallback[name].bind(fallback);
}
for (const [name, prefix] of Object.entries(levels)) {
  captured[name] = (...args) => log(prefix + format(args));
}
globalThis.console = captured;

// Memory: the heap is bounded by V8 (the worker's resource limits); array
// buffers live outside it, so a large one is refused here when it would take
// the isolate's external memory past the same limit.
function guard(bytes) {
  if (!(bytes > 1 << 20)) return;
  if (Deno.memoryUsage().external + bytes > memoryBytes) {
    throw new RangeError(
      `Memory limit exceeded: allocating ${Math.ceil(bytes / 1048576)} MB would pass the function's limit of ${memoryBytes >> 20} MB`,
    );
  }
}
const size = (v) => (typeof v === "number" ? v : Number(v) || 0);
function guarded(C, bytesOf) {
  return new Proxy(C, {
    construct(target, args, newTarget) {
      guard(bytesOf(args));
      return Reflect.construct(target, args, newTarget);
    },
  });
}
for (const C of [ArrayBuffer, SharedArrayBuffer]) {
  globalThis[C.name] = guarded(C, (a) => Math.max(size(a[0]), size(a[1]?.maxByteLength)));
}
for (const name of [
  "Int8Array", "Uint8Array", "Uint8ClampedArray", "Int16Array", "Uint16Array", "Int32Array",
  "Uint32Array", "Float16Array", "Float32Array", "Float64Array", "BigInt64Array", "BigUint64Array",
]) {
  const C = globalThis[name];
  if (!C) continue;
  globalThis[name] = guarded(C, (a) => {
    const x = a[0];
    if (typeof x === "number") return x * C.BYTES_PER_ELEMENT;
    if (x && typeof x === "object" && !(x instanceof ArrayBuffer) && !(x instanceof SharedArrayBuffer)) {
      return size(x.length) * C.BYTES_PER_ELEMENT;
    }
    return 0;
  });
}

// --- logs and errors ----------------------------------------------------------

function mask(text) {
  for (const s of secrets) text = text.replaceAll(s, "********");
  return text;
}

// clean makes an error text readable: the module's blob URL becomes its file
// name, and secrets are masked.
function clean(text) {
  if (moduleURL) text = text.replaceAll(moduleURL, fileName);
  return mask(text.replace(/data:text\/javascript;base64,[A-Za-z0-9+/=.]+/g, "selfdb-runtime.js"));
}

function log(text) {
  const id = current.getStore() ?? (runs.size === 1 ? runs.keys().next().value : lastRun);
  const run = runs.get(id);
  if (!run || run.logBytes > logCap) return;
  run.logBytes += text.length + 1;
  port.postMessage({ t: "log", id, text: mask(text) });
}

function errorText(e) {
  if (e instanceof Error) return e.message || String(e);
  try {
    return typeof e === "string" ? e : JSON.stringify(e) ?? String(e);
  } catch {
    return String(e);
  }
}

// location finds "<module>:line:column" in an error's stack.
function location(e) {
  const text = String(e?.stack ?? e);
  const at = moduleURL ? text.indexOf(moduleURL + ":") : -1;
  if (at < 0) return {};
  const m = /^:(\d+):(\d+)/.exec(text.slice(at + moduleURL.length));
  return m ? { line: Number(m[1]), column: Number(m[2]) } : {};
}

// --- loading ------------------------------------------------------------------

async function load(m) {
  fileName = `${m.name || "function"}.ts`;
  env = Object.freeze({ ...(m.env ?? {}) });
  secrets = (m.secrets ?? []).filter((s) => typeof s === "string" && s.length >= 4).sort((a, b) => b.length - a.length);
  memoryBytes = m.memoryBytes || memoryBytes;
  moduleURL = URL.createObjectURL(new Blob([m.code], { type: "application/typescript" }));
  let mod;
  try {
    mod = await import(moduleURL);
  } catch (e) {
    // Deno wraps a parse error as "TypeError: SyntaxError: ..." with a code frame.
    const first = errorText(e).split("\n")[0].replace(/^TypeError: (?=SyntaxError)/, "");
    port.postMessage({ t: "loadError", message: clean(first), ...location(e) });
    return;
  }
  if (m.analyze) {
    let triggers = null;
    try {
      triggers = mod.triggers === undefined ? null : JSON.parse(JSON.stringify(mod.triggers));
    } catch {
      triggers = "unserializable";
    }
    port.postMessage({
      t: "analysis",
      hasDefault: typeof mod.default === "function",
      triggers,
      description: typeof mod.description === "string" ? mod.description : null,
      runOnce: mod.runOnce === true,
    });
    return;
  }
  if (typeof mod.default !== "function") {
    port.postMessage({ t: "loadError", message: "The module has no default export function (export default async function handler(req, ctx) {...})" });
    return;
  }
  handler = mod.default;
  port.postMessage({ t: "ready" });
}

// --- runs ---------------------------------------------------------------------

async function callBackend(api, path, init = {}) {
  const base = new URL(api.url);
  const url = new URL(String(path), base);
  if (url.origin !== base.origin) {
    throw new TypeError("callBackend calls this SelfDB API only (use fetch for other URLs)");
  }
  const headers = new Headers(init.headers ?? {});
  headers.set("apikey", api.anonKey);
  if (api.token && !headers.has("authorization")) headers.set("authorization", `Bearer ${api.token}`);
  let body = init.body;
  if (
    body !== undefined && body !== null && typeof body === "object" &&
    !(body instanceof ArrayBuffer) && !ArrayBuffer.isView(body) && !(body instanceof Blob) &&
    !(body instanceof FormData) && !(body instanceof URLSearchParams) && !(body instanceof ReadableStream)
  ) {
    body = JSON.stringify(body);
    if (!headers.has("content-type")) headers.set("content-type", "application/json");
  }
  const resp = await fetch(url, { ...init, headers, body });
  const text = await resp.text();
  let data = text;
  try {
    data = text === "" ? null : JSON.parse(text);
  } catch {
    // not JSON: the text
  }
  if (!resp.ok) {
    const e = new Error(`SelfDB API answered ${resp.status}: ${text.slice(0, 500)}`);
    e.status = resp.status;
    e.data = data;
    throw e;
  }
  return data;
}

function requestBody(run) {
  return new ReadableStream({
    pull(controller) {
      return new Promise((resolve) => {
        run.feed = (m) => {
          run.feed = null;
          if (m.error) controller.error(new Error(m.error));
          else if (m.done) controller.close();
          else controller.enqueue(m.chunk);
          resolve();
        };
        port.postMessage({ t: "pullReq", id: run.id });
      });
    },
  }, { highWaterMark: 0 });
}

const jsonHeaders = [["content-type", "application/json"]];

async function start(m) {
  const run = { id: m.id, ac: new AbortController(), reader: null, feed: null, logBytes: 0 };
  runs.set(run.id, run);
  lastRun = run.id;
  const hasBody = m.hasBody && m.method !== "GET" && m.method !== "HEAD";
  const ctx = Object.assign({}, env, { env, callBackend: (path, init) => callBackend(m.api, path, init) });
  await current.run(run.id, async () => {
    let out;
    try {
      const req = new Request(m.url, {
        method: m.method,
        headers: m.headers,
        body: hasBody ? requestBody(run) : undefined,
        duplex: hasBody ? "half" : undefined,
        signal: run.ac.signal,
      });
      out = await handler(req, ctx);
      if (!(out instanceof Response)) {
        // Any other value is sent as JSON, in one message.
        const body = encoder.encode(JSON.stringify(out === undefined ? null : out));
        if (!runs.has(run.id)) return;
        port.postMessage({ t: "head", id: run.id, status: 200, statusText: "", headers: jsonHeaders, chunk: body, done: true });
        end(run, { ok: true, status: 200 });
        return;
      }
    } catch (e) {
      fail(run, e);
      return;
    }
    if (!runs.has(run.id)) return; // cancelled meanwhile
    run.reader = out.body ? out.body.getReader() : null;
    let first;
    try {
      first = await read(run);
    } catch (e) {
      fail(run, e);
      return;
    }
    if (!runs.has(run.id)) return;
    port.postMessage({
      t: "head", id: run.id, status: out.status, statusText: out.statusText,
      headers: [...out.headers], chunk: first.chunk, done: first.done,
    });
    if (first.done) end(run, { ok: true, status: out.status });
    else run.status = out.status;
  });
}

async function read(run) {
  if (!run.reader) return { chunk: null, done: true };
  const { value, done } = await run.reader.read();
  if (done) return { chunk: null, done: true };
  const chunk = typeof value === "string" ? encoder.encode(value) : new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  return { chunk, done: false };
}

async function pull(m) {
  const run = runs.get(m.id);
  if (!run) return;
  let next;
  try {
    next = await current.run(run.id, () => read(run));
  } catch (e) {
    port.postMessage({ t: "res", id: run.id, error: clean(errorText(e)) });
    end(run, { ok: false, error: clean(String(e?.stack ?? e)) });
    return;
  }
  if (!runs.has(run.id)) return;
  port.postMessage({ t: "res", id: run.id, chunk: next.chunk, done: next.done });
  if (next.done) end(run, { ok: true, status: run.status });
}

function fail(run, e) {
  if (!runs.has(run.id)) return;
  const body = JSON.stringify({ error: "Function execution failed", message: clean(errorText(e)) });
  port.postMessage({
    t: "head", id: run.id, status: 500, statusText: "",
    headers: [["content-type", "application/json"]], chunk: encoder.encode(body), done: true,
  });
  end(run, { ok: false, status: 500, error: clean(String(e?.stack ?? e)) });
}

function end(run, outcome) {
  if (!runs.delete(run.id)) return;
  port.postMessage({ t: "end", id: run.id, ...outcome });
}

function cancel(m) {
  const run = runs.get(m.id);
  if (run) {
    runs.delete(m.id);
    run.ac.abort(new Error("The run was stopped (timeout or client gone)"));
    run.reader?.cancel().catch(() => {});
  }
  port.postMessage({ t: "cancelled", id: m.id });
}

port.on("message", (m) => {
  switch (m.t) {
    case "init":
      load(m);
      break;
    case "run":
      start(m);
      break;
    case "req":
      runs.get(m.id)?.feed?.(m);
      break;
    case "pull":
      pull(m);
      break;
    case "cancel":
      cancel(m);
      break;
    case "ping":
      port.postMessage({ t: "pong", n: m.n });
      break;
  }
});
port.postMessage({ t: "started" });
