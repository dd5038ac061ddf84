import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { afterEach, beforeEach, expect, it } from "vitest";
import { openSessionStore } from "../src/sessions/store.ts";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "sb-concurrent-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function runWriter(data: object): Promise<{ shared: string[]; own: string }> {
  const worker = new Worker(new URL("./helpers/store-writer.ts", import.meta.url), { workerData: data });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void worker.terminate();
      reject(new Error("writer timed out"));
    }, 15_000);
    worker.once("message", (m) => {
      clearTimeout(timer);
      resolve(m);
    });
    worker.once("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

it("lets two connections write the same file at once without losing or splitting anything", async () => {
  const file = join(dir, "state.db");
  const batches = 200;
  const batchSize = 5;
  const barrier = new SharedArrayBuffer(4);
  const [a, b] = await Promise.all([
    runWriter({ file, worker: 1, batches, batchSize, barrier }),
    runWriter({ file, worker: 2, batches, batchSize, barrier }),
  ]);
  // The shared group chat resolved to one session for both writers: getOrCreate is one IMMEDIATE transaction.
  expect(a.shared).toHaveLength(1);
  expect(b.shared).toEqual(a.shared);

  const store = openSessionStore(file);
  try {
    const shared = (await store.get(a.shared[0]!))!;
    expect(shared.messageCount).toBe(2 * batches * batchSize);
    expect((await store.get(a.own))!.messageCount).toBe(batches * batchSize);
    expect((await store.get(b.own))!.messageCount).toBe(batches * batchSize);
    const rows = store.db.prepare("SELECT COUNT(*) AS n FROM messages").get() as { n: number };
    expect(rows.n).toBe(4 * batches * batchSize);
    expect(await store.list({ includeEnded: true, limit: 10 })).toHaveLength(3);
    // Every message of each writer's last batch is findable: the FTS index kept up with both connections.
    expect(await store.search("w1 b199 m4")).toHaveLength(2);
    expect(await store.search("w2 b199 m4")).toHaveLength(2);
  } finally {
    await store.close();
  }
});
