import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openSessionStore } from "@switchboard/core";
import OpenAI from "openai";
import { afterAll, describe, expect, it } from "vitest";
import { type RunningCli, startCli } from "./cli-helpers.ts";

const home = mkdtempSync(join(tmpdir(), "sb-crash-"));
writeFileSync(
  join(home, "config.yaml"),
  "agents:\n  main: {}\napi_server:\n  port: 0\ncron:\n  enabled: false\nlog_level: info\n",
);
const children: RunningCli[] = [];
afterAll(() => {
  for (const c of children) c.kill("SIGKILL");
  rmSync(home, { recursive: true, force: true });
});

async function boot(): Promise<{ cli: RunningCli; url: string }> {
  const cli = startCli(["run", "--home", home], { SWITCHBOARD_HOME: home });
  children.push(cli);
  const line = await cli.waitForLog((l) => typeof l.url === "string", 20_000);
  return { cli, url: String(line.url) };
}

// Few enough in flight that the client answers the last reply within the commit's window, as a chat UI does.
const CONCURRENCY = 4;
const KILL_AFTER = 150;
const PADDING = "lorem ipsum ".repeat(10);

/**
 * Keep `CONCURRENCY` requests in flight; on the `KILL_AFTER`th acknowledged reply, `kill -9` the gateway
 * at once, from inside the callback that saw the reply, so the kill lands right behind the last answers.
 */
async function burst(url: string, cli: RunningCli, round: number): Promise<string[]> {
  const client = new OpenAI({ apiKey: "unused", baseURL: `${url}/v1`, maxRetries: 0, timeout: 10_000 });
  const acknowledged: string[] = [];
  let next = 0;
  let killed = false;
  const worker = async () => {
    while (!killed) {
      const n = next++;
      const stream = n % 2 === 1;
      const prompt = `round ${round} request ${n} ${PADDING}`;
      try {
        let text = "";
        if (stream) {
          const s = await client.chat.completions.create({
            model: "main",
            stream: true,
            messages: [{ role: "user", content: prompt }],
          });
          let done = false;
          for await (const chunk of s) {
            text += chunk.choices[0]?.delta?.content ?? "";
            if (chunk.choices[0]?.finish_reason) done = true;
          }
          // The SDK's iterator ends on `data: [DONE]`: only then is the stream acknowledged.
          if (!done) continue;
        } else {
          const r = await client.chat.completions.create({
            model: "main",
            messages: [{ role: "user", content: prompt }],
          });
          text = r.choices[0]?.message.content ?? "";
        }
        if (killed) return;
        acknowledged.push(text);
        if (acknowledged.length >= KILL_AFTER) {
          killed = true;
          cli.child.kill("SIGKILL");
        }
      } catch {
        // Cut by the kill: not acknowledged.
        if (killed) return;
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  await cli.exited;
  return acknowledged;
}

async function storedReplies(): Promise<Set<string>> {
  const store = openSessionStore(join(home, "state.db"));
  try {
    const out = new Set<string>();
    for (const s of await store.list({ limit: 100_000, includeEnded: true })) {
      for (const m of await store.history(s.id, 1000)) if (m.role === "assistant") out.add(m.content);
    }
    return out;
  } finally {
    await store.close();
  }
}

describe("kill -9 in the middle of a burst", () => {
  it("loses no reply the gateway acknowledged", { timeout: 120_000 }, async () => {
    const lost: string[] = [];
    let acknowledgedTotal = 0;
    for (let round = 0; round < 4; round++) {
      const { cli, url } = await boot();
      const acknowledged = await burst(url, cli, round);
      acknowledgedTotal += acknowledged.length;
      // Restart on the crashed database: it opens, and every acknowledged reply is in it.
      const again = await boot();
      again.cli.kill("SIGTERM");
      await again.cli.exited;
      const stored = await storedReplies();
      for (const text of acknowledged) if (!stored.has(text)) lost.push(text);
    }
    expect(acknowledgedTotal).toBeGreaterThanOrEqual(4 * KILL_AFTER);
    expect(lost).toEqual([]);
  });
});
