import { openSessionStore } from "../../src/sessions/store.ts";

/**
 * A gateway-like process for the crash test: records `calls` model calls of 10 tokens each (every one
 * awaited, so committed), says so on stdout, then waits to be killed before its totals are folded.
 */
const [file, calls] = process.argv.slice(2) as [string, string];
const store = openSessionStore(file);
for (let i = 0; i < Number(calls); i++) {
  await store.usage.record(
    {
      at: Date.now(),
      agentId: "main",
      userId: "u1",
      platform: "telegram",
      inputTokens: 7,
      outputTokens: 3,
      costUsd: 0.01,
    },
    ["agent:main", "user:telegram:u1"],
  );
}
process.stdout.write("recorded\n");
setInterval(() => {}, 60_000);
