import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { memoryLogger } from "@switchboard/core";
import { type StubLlm, startStubLlm } from "@switchboard/testing";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningGateway, startGateway } from "../src/run.ts";

/** Turns that fail upstream, through the whole gateway (real agent runtime, real HTTP, the official client). */
const home = mkdtempSync(join(tmpdir(), "sb-turn-failures-"));
let stub: StubLlm;
let gw: RunningGateway;
const logger = memoryLogger();

beforeAll(async () => {
  stub = await startStubLlm();
  writeFileSync(
    join(home, "config.yaml"),
    `api_server: { port: 0 }
cron: { enabled: false }
providers:
  stub: { kind: openai-compatible, base_url: ${stub.url} }
  keyed: { kind: openai, base_url: ${stub.url}, api_key_env: KEYED_API_KEY }
  down: { kind: openai-compatible, base_url: "http://127.0.0.1:9/internal/v1" }
agents:
  main: {}
  slow: { model: { provider: stub, name: stub-model }, turn_timeout_s: 0.6 }
  llm: { model: { provider: stub, name: stub-model } }
  nokey: { model: { provider: keyed, name: gpt-x } }
  offline: { model: { provider: down, name: m } }
`,
  );
  gw = await startGateway({ home, logger, watchConfig: false, env: {} });
});

afterAll(async () => {
  await gw?.stop();
  await stub?.close();
  rmSync(home, { recursive: true, force: true });
});

const client = () =>
  new OpenAI({ apiKey: "unused", baseURL: `${gw.url}/v1`, maxRetries: 0, timeout: 10_000 });

async function failure(p: Promise<unknown>): Promise<InstanceType<typeof OpenAI.APIError>> {
  try {
    await p;
  } catch (err) {
    if (err instanceof OpenAI.APIError) return err;
    throw err;
  }
  throw new Error("the request succeeded");
}

describe("the overall turn limit", () => {
  it("stops a model that trickles tokens and tells the client why", async () => {
    stub.setLatency(400);
    stub.script({ text: "one two three four five six seven eight nine ten eleven twelve" });
    const started = Date.now();
    const err = await failure(
      client().chat.completions.create({ model: "slow", messages: [{ role: "user", content: "go" }] }),
    );
    stub.setLatency(0);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(err.status).toBe(504);
    expect(err.message).toContain("agents.slow.turn_timeout_s");
    // The model request itself was cancelled, not left trickling.
    await stub.waitFor(() => stub.activeStreams() === 0);
  });

  it("ends a streamed turn past its limit with an error chunk", async () => {
    stub.setLatency(400);
    stub.script({ text: "one two three four five six seven eight nine ten eleven twelve" });
    const stream = await client().chat.completions.create({
      model: "slow",
      stream: true,
      messages: [{ role: "user", content: "go" }],
    });
    const err = await failure(
      (async () => {
        for await (const _ of stream) {
          // read until the error chunk
        }
      })(),
    );
    stub.setLatency(0);
    expect(err.message).toContain("turn_timeout_s");
  });
});

describe("an upstream that answers 200 with something that is not JSON", () => {
  it.each([
    ["an HTML page", { invalidJson: true as const }],
    ["JSON of the wrong shape", { invalidJson: true as const, body: '{"unexpected":true}' }],
    [
      "an event stream of garbage",
      { invalidJson: true as const, body: "data: not json\n\n", contentType: "text/event-stream" },
    ],
    ["an empty body", { invalidJson: true as const, body: "" }],
  ])("is a 502 in OpenAI's shape for %s, not an empty answer", async (_name, answer) => {
    stub.script(answer);
    const err = await failure(
      client().chat.completions.create({ model: "llm", messages: [{ role: "user", content: "hi" }] }),
    );
    expect(err.status).toBe(502);
    expect(err.type).toBe("server_error");
  });
});

describe("what a failed turn discloses", () => {
  it("tells the client there is no key without naming a server path, and logs the detail", async () => {
    const err = await failure(
      client().chat.completions.create({ model: "nokey", messages: [{ role: "user", content: "hi" }] }),
    );
    expect(err.message).toContain("KEYED_API_KEY");
    expect(err.message).not.toContain(home);
    expect(err.message).not.toMatch(/\/\.env|\.env\b/);
    const logged = logger.entries.find(
      (e) => e.msg === "turn failed" && (e.obj as { agent?: string }).agent === "nokey",
    );
    expect(logged).toBeDefined();
    expect(JSON.stringify(logged)).toContain(join(home, "agents", "nokey", ".env"));
  });

  it("does not show a provider's internal URL to the client", async () => {
    const err = await failure(
      client().chat.completions.create({ model: "offline", messages: [{ role: "user", content: "hi" }] }),
    );
    expect(err.message).not.toContain("127.0.0.1:9");
    expect(err.message).not.toContain("/internal");
    const logged = logger.entries.find(
      (e) => e.msg === "turn failed" && (e.obj as { agent?: string }).agent === "offline",
    );
    expect(logged?.obj).toMatchObject({ agent: "offline", session: expect.any(String) });
    expect(JSON.stringify(logged)).toContain("127.0.0.1:9");
  });
});
