import { parentPort, workerData } from "node:worker_threads";
import { openSessionStore } from "../../src/sessions/store.ts";

/** A second process-like writer: its own connection, started on a barrier so the two really overlap. */
interface Job {
  file: string;
  worker: number;
  batches: number;
  batchSize: number;
  barrier: SharedArrayBuffer;
}
const job = workerData as Job;
const gate = new Int32Array(job.barrier);
Atomics.add(gate, 0, 1);
Atomics.notify(gate, 0);
while (Atomics.load(gate, 0) < 2) Atomics.wait(gate, 0, Atomics.load(gate, 0), 50);

const store = openSessionStore(job.file);
const sharedSource = { platform: "telegram", chatType: "group" as const, chatId: "-100", agentId: "main" };
const ownSource = {
  platform: "telegram",
  chatType: "dm" as const,
  chatId: String(job.worker),
  agentId: "main",
};
const shared: string[] = [];
let own = "";
for (let b = 0; b < job.batches; b++) {
  const s = (await store.getOrCreate("agent:main:telegram:group:-100", sharedSource)).session.id;
  if (!shared.includes(s)) shared.push(s);
  own = (await store.getOrCreate(`agent:main:telegram:dm:${job.worker}`, ownSource)).session.id;
  const batch = Array.from({ length: job.batchSize }, (_, i) => ({
    role: "user" as const,
    content: `w${job.worker} b${b} m${i}`,
  }));
  await store.append(s, batch);
  await store.append(own, batch);
}
await store.close();
parentPort!.postMessage({ shared, own });
