import { Worker } from "node:worker_threads";

/**
 * Concurrent keep-alive load from a worker thread (plain JS, so it runs on the other core while the server
 * keeps this thread): `concurrency` clients each POST a chat completion and wait for the answer, for a
 * warm-up and then a measured window. Replies are checked to contain `expect` with the request's word.
 */
const LOAD_WORKER = `
const { parentPort, workerData } = require("node:worker_threads");
const { Agent, request } = require("node:http");
const { url, concurrency, warmupMs, durationMs, key, model, expectPrefix, count, tag } = workerData;
const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
const u = new URL(url);
const headers = { "content-type": "application/json" };
if (key) headers.authorization = "Bearer " + key;
function post(body) {
  return new Promise((resolve) => {
    const req = request({ host: u.hostname, port: u.port, path: u.pathname, method: "POST", agent,
      headers: { ...headers, "content-length": Buffer.byteLength(body) } },
      (res) => { let text = ""; res.setEncoding("utf8"); res.on("data", (d) => (text += d)); res.on("end", () => resolve({ status: res.statusCode, text })); });
    req.on("error", (e) => resolve({ status: 0, text: String(e) }));
    req.end(body);
  });
}
(async () => {
  let measuring = warmupMs === 0, ok = 0, bad = 0, wrong = 0, firstError = "", sent = 0;
  const start = Date.now();
  const end = count ? Infinity : start + warmupMs + durationMs;
  if (!measuring) setTimeout(() => { measuring = true; parentPort.postMessage({ op: "measuring" }); }, warmupMs);
  let t0 = 0;
  const loops = Array.from({ length: concurrency }, async (_, w) => {
    for (let i = 0; Date.now() < end && (!count || sent < count); i++) {
      sent++;
      const word = tag + "w" + w + "i" + i;
      const s = performance.now();
      const r = await post(JSON.stringify({ model, messages: [{ role: "user", content: word }] }));
      if (!measuring) continue;
      if (t0 === 0) t0 = s;
      if (r.status !== 200) { bad++; if (!firstError) firstError = r.status + " " + r.text.slice(0, 200); }
      else if (expectPrefix !== undefined && !r.text.includes(expectPrefix + word)) wrong++;
      else ok++;
      if (count && (ok + bad) % 1000 === 0) parentPort.postMessage({ op: "progress", done: ok + bad });
    }
  });
  await Promise.all(loops);
  const seconds = (performance.now() - t0) / 1000;
  agent.destroy();
  parentPort.postMessage({ op: "done", ok, bad, wrong, seconds, firstError });
})();
`;

export interface LoadOptions {
  url: string;
  concurrency: number;
  warmupMs: number;
  durationMs: number;
  model: string;
  key?: string;
  /** A reply must contain this followed by the request's word; unset = any 200 passes. */
  expectPrefix?: string;
  /** Send exactly this many requests (no warm-up, no time limit) instead of a timed window. */
  count?: number;
  /** Called in the measured window's first moment (timed runs), for CPU baselines. */
  onMeasuring?: () => void;
  /** Every 1,000 answers of a counted run. */
  onProgress?: (done: number) => void;
}

export interface LoadResult {
  ok: number;
  bad: number;
  wrong: number;
  seconds: number;
  firstError: string;
}

/** Loads run so far: each one's words are its own. */
let loads = 0;

export function runLoad(o: LoadOptions): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const { onMeasuring, onProgress, ...data } = o;
    // Every request is a new conversation: a word repeated from an earlier load against the same gateway
    // would map to that load's stored session (the id follows the first user message) and measure a
    // regenerated answer (history read, rewind) instead of a new chat.
    const tag = `r${process.pid.toString(36)}${(loads++).toString(36)}`;
    const worker = new Worker(LOAD_WORKER, { eval: true, workerData: { ...data, tag } });
    worker.on("message", (m: { op: string; done?: number } & LoadResult) => {
      if (m.op === "measuring") onMeasuring?.();
      else if (m.op === "progress") onProgress?.(m.done!);
      else if (m.op === "done") {
        void worker.terminate();
        if (m.bad > 0) reject(new Error(`${m.bad} requests failed, first: ${m.firstError}`));
        else if (m.wrong > 0) reject(new Error(`${m.wrong} replies did not answer their request`));
        else resolve(m);
      }
    });
    worker.once("error", reject);
  });
}
