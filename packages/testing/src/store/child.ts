/**
 * The store conformance suite's second process: opens the same store through the backend under test and
 * appends `count` messages to one session, one commit each, while the test process does the same.
 * Prints `done <n>` when every append resolved.
 */
import type { StoreBackend, StoreChildJob } from "./backend.ts";

const job = JSON.parse(process.argv[2] ?? "{}") as StoreChildJob;
const mod = (await import(job.backend.module)) as Record<string, StoreBackend>;
const backend = mod[job.backend.exportName];
if (!backend) throw new Error(`${job.backend.module} has no export ${job.backend.exportName}`);
const store = await backend.open(job.location);
try {
  process.stdout.write("ready\n");
  for (let i = 0; i < job.count; i++) {
    await store.append(job.sessionId, [{ role: "user", content: `${job.prefix}${i}` }]);
  }
  process.stdout.write(`done ${job.count}\n`);
} finally {
  await store.close();
}
