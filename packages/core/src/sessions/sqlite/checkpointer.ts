import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";
import type { Database } from "better-sqlite3";

/**
 * The worker: its own connection to the file, a PASSIVE checkpoint whenever asked (it never waits for a
 * lock and never blocks the writer), the WAL's frame counts as the answer.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const Database = require(workerData.driver);
const db = new Database(workerData.file, { fileMustExist: true });
parentPort.on("message", (m) => {
  if (m === "close") { db.close(); parentPort.close(); return; }
  try {
    const r = db.pragma("wal_checkpoint(PASSIVE)")[0];
    parentPort.postMessage({ ok: true, log: r.log, checkpointed: r.checkpointed });
  } catch (err) {
    parentPort.postMessage({ ok: false, error: String((err && err.message) || err) });
  }
});
`;

export interface CheckpointerOptions {
  /** Commits before the worker starts: a short-lived store (a CLI command, a test) never starts one. */
  startAfterCommits?: number;
  /** Commits between two checkpoints. */
  everyCommits?: number;
  /** At most this long between a commit and the checkpoint that copies it. */
  intervalMs?: number;
  /** The main connection's own automatic checkpoint while the worker runs: a backstop if it stalls. */
  backstopPages?: number;
}

/**
 * WAL checkpoints off the event loop. SQLite's automatic checkpoint runs inside the COMMIT that crosses
 * 1,000 WAL pages: it copies those pages into the database file and fsyncs both, and the commit (and every
 * request waiting on it) stalls for that long. A busy gateway instead hands the copying to a worker thread
 * with its own connection, which checkpoints PASSIVE every `everyCommits` commits or `intervalMs`; the
 * main connection's automatic checkpoint stays on with a high threshold as a backstop. If the worker
 * fails, the main connection goes back to SQLite's default.
 */
export class WalCheckpointer {
  readonly #db: Database;
  readonly #file: string;
  readonly #o: Required<CheckpointerOptions>;
  #worker: Worker | undefined;
  #commits = 0;
  #sinceCheckpoint = 0;
  #busy = false;
  #timer: ReturnType<typeof setInterval> | undefined;
  #failed = false;

  constructor(db: Database, file: string, options: CheckpointerOptions = {}) {
    this.#db = db;
    this.#file = file;
    this.#o = {
      startAfterCommits: options.startAfterCommits ?? 500,
      everyCommits: options.everyCommits ?? 64,
      intervalMs: options.intervalMs ?? 1000,
      backstopPages: options.backstopPages ?? 16_000,
    };
  }

  /** Whether the worker is checkpointing (for tests and `/health/ready`). */
  get running(): boolean {
    return this.#worker !== undefined;
  }

  /** Call after each commit. */
  committed(): void {
    if (this.#failed) return;
    this.#sinceCheckpoint++;
    if (!this.#worker) {
      if (++this.#commits >= this.#o.startAfterCommits) this.#start();
      return;
    }
    if (this.#sinceCheckpoint >= this.#o.everyCommits) this.#kick();
  }

  #start(): void {
    let worker: Worker;
    try {
      worker = new Worker(WORKER_SOURCE, {
        eval: true,
        workerData: { file: this.#file, driver: createRequire(import.meta.url).resolve("better-sqlite3") },
      });
    } catch {
      this.#failed = true;
      return;
    }
    worker.unref();
    worker.on("message", (m: { ok: boolean }) => {
      this.#busy = false;
      if (!m.ok) this.#fail();
    });
    worker.on("error", () => this.#fail());
    worker.on("exit", () => {
      if (this.#worker === worker) this.#fail();
    });
    this.#worker = worker;
    this.#db.pragma(`wal_autocheckpoint = ${this.#o.backstopPages}`);
    this.#timer = setInterval(() => {
      if (this.#sinceCheckpoint > 0) this.#kick();
    }, this.#o.intervalMs);
    this.#timer.unref();
  }

  #kick(): void {
    if (this.#busy || !this.#worker) return;
    this.#busy = true;
    this.#sinceCheckpoint = 0;
    this.#worker.postMessage("checkpoint");
  }

  /** The worker is gone or cannot checkpoint: the main connection checkpoints as SQLite does by default. */
  #fail(): void {
    this.#failed = true;
    this.#stopTimer();
    const worker = this.#worker;
    this.#worker = undefined;
    void worker?.terminate().catch(() => undefined);
    if (this.#db.open) this.#db.pragma("wal_autocheckpoint = 1000");
  }

  #stopTimer(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Stop the worker (its connection closed first); the store then closes its own connection. */
  async close(): Promise<void> {
    this.#failed = true;
    this.#stopTimer();
    const worker = this.#worker;
    this.#worker = undefined;
    if (!worker) return;
    const exited = new Promise<void>((resolve) => worker.once("exit", () => resolve()));
    worker.postMessage("close");
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<"late">((resolve) => {
      timer = setTimeout(() => resolve("late"), 2000);
    });
    if ((await Promise.race([exited, late])) === "late") await worker.terminate();
    clearTimeout(timer);
  }
}
