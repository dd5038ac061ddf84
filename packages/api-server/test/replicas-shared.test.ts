import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createAgentRunner } from "@switchboard/agent";
import { type StubLlm, startStubLlm } from "@switchboard/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KEYS, postJson, startApi, type TestApi } from "./helpers.ts";

/**
 * Two replicas (two gateways, each with its own store connection and leases on one SQLite file) behind one
 * imagined load balancer: a client's retry that reaches the other replica, and a key's runs spread over both.
 */
const home = mkdtempSync(join(tmpdir(), "sb-replicas-shared-"));
let stub: StubLlm;
let a: TestApi;
let b: TestApi;

const config = (stubUrl: string) => ({
  providers: { stub: { kind: "openai-compatible", base_url: stubUrl } },
  agents: { main: { model: { provider: "stub", name: "stub-model" }, toolsets: [] } },
  api_server: {
    keys: [{ key: KEYS.admin, agents: "*" }],
    run_poll_ms: 50,
    max_active_runs_per_key: 1,
  },
});

beforeAll(async () => {
  stub = await startStubLlm();
  a = await startApi(config(stub.url), { home, replica: "a", runner: createAgentRunner({ maxRetries: 0 }) });
  b = await startApi(config(stub.url), { home, replica: "b", runner: createAgentRunner({ maxRetries: 0 }) });
});

afterAll(async () => {
  await a?.close();
  await b?.close();
  await stub?.close();
  rmSync(home, { recursive: true, force: true });
});

const ask = (api: TestApi, key: string, content: string, stream = false) =>
  api
    .client({ key: KEYS.admin })
    .chat.completions.create(
      { model: "main", messages: [{ role: "user", content }], ...(stream ? { stream: true } : {}) },
      { headers: { "Idempotency-Key": key } },
    )
    .withResponse();

describe("Idempotency-Key across replicas", () => {
  it("a retry sent to the other replica replays the first answer: the model is called once", async () => {
    const before = stub.requests.length;
    stub.script({ text: "only once" });
    const first = await ask(a, "retry-1", "hello");
    const second = await ask(b, "retry-1", "hello");
    expect(stub.requests.length - before).toBe(1);
    expect(second.data).toEqual(first.data);
    const answer = first.data as { choices: Array<{ message: { content: string | null } }> };
    expect(answer.choices[0]!.message.content).toBe("only once");
    expect(second.response.headers.get("idempotency-replayed")).toBe("true");
  });

  it("a repeat on the other replica while the first still runs waits for it and gets the same stream", async () => {
    const before = stub.requests.length;
    stub.script({ text: "a slow streamed answer", chunkDelayMs: 60 });
    const read = async (p: ReturnType<typeof ask>) => {
      const { data } = await p;
      let text = "";
      for await (const chunk of data as unknown as AsyncIterable<{
        id: string;
        choices: Array<{ delta?: { content?: string } }>;
      }>)
        text += `${chunk.id}:${chunk.choices[0]?.delta?.content ?? ""}|`;
      return text;
    };
    const first = read(ask(a, "retry-2", "stream it", true));
    await new Promise((r) => setTimeout(r, 80));
    const second = read(ask(b, "retry-2", "stream it", true));
    const [x, y] = await Promise.all([first, second]);
    expect(stub.requests.length - before).toBe(1);
    expect(y).toBe(x);
    expect(x.replace(/[^|]*:/g, "")).toContain("slow");
  });

  it("the same key with another body on the other replica is 409 idempotency_key_conflict", async () => {
    stub.script({ text: "first" });
    await ask(a, "retry-3", "one body");
    const res = await postJson(
      b,
      "/v1/chat/completions",
      { model: "main", messages: [{ role: "user", content: "another body" }] },
      { key: KEYS.admin, headers: { "Idempotency-Key": "retry-3" } },
    );
    expect(res.status).toBe(409);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("idempotency_key_conflict");
  });
});

describe("max_active_runs_per_key across replicas", () => {
  it("a key's run executing on A counts on B: B answers 429 until it ends", async () => {
    stub.script({ text: "a run that takes a while to finish", chunkDelayMs: 80 });
    const started = await postJson(a, "/v1/runs", { model: "main", input: "long" }, { key: KEYS.admin });
    expect(started.status).toBe(202);
    const id = ((await started.json()) as { id: string }).id;
    const refused = await postJson(b, "/v1/runs", { model: "main", input: "more" }, { key: KEYS.admin });
    expect(refused.status).toBe(429);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe("rate_limit_exceeded");
    // Once A's run ends, B admits the next one.
    const deadline = Date.now() + 10_000;
    for (;;) {
      const run = (await (await a.request(`/v1/runs/${id}`, { key: KEYS.admin })).json()) as {
        status: string;
      };
      if (run.status !== "running" || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    stub.script({ text: "next" });
    const next = await postJson(b, "/v1/runs", { model: "main", input: "next" }, { key: KEYS.admin });
    expect(next.status).toBe(202);
  });
});
