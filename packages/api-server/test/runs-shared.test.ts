import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createAgentRunner } from "@switchboard/agent";
import { CronManager, sqliteDatabase } from "@switchboard/core";
import { type StubChatRequest, type StubLlm, type StubResponse, startStubLlm } from "@switchboard/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KEYS, postJson, readSse, startApi, type TestApi } from "./helpers.ts";

/**
 * Two gateways (two stores, one SQLite file): a run executing on A is read, followed and stopped through B,
 * which polls the file; a run whose process is gone is failed rather than left running.
 */
const POLL_MS = 50;
const home = mkdtempSync(join(tmpdir(), "sb-runs-shared-"));
let stub: StubLlm;
let a: TestApi;
let b: TestApi;

const config = (stubUrl: string) => ({
  providers: { stub: { kind: "openai-compatible", base_url: stubUrl } },
  agents: {
    main: { model: { provider: "stub", name: "stub-model" }, toolsets: [] },
    ops: { model: { provider: "stub", name: "stub-model" }, approval: ["cron_create"] },
  },
  api_server: {
    keys: [
      { key: KEYS.admin, agents: "*" },
      { key: KEYS.webui, name: "webui", agents: "*" },
    ],
    run_poll_ms: POLL_MS,
  },
});

beforeAll(async () => {
  stub = await startStubLlm();
  a = await startApi(config(stub.url), { home, runner: createAgentRunner({ maxRetries: 0 }) });
  b = await startApi(config(stub.url), { home, runner: createAgentRunner({ maxRetries: 0 }) });
  const gateway = a.gateway;
  gateway.setCron(new CronManager({ config: () => gateway.config, router: () => gateway.router }));
});

afterAll(async () => {
  await a?.close();
  await b?.close();
  await stub?.close();
  rmSync(home, { recursive: true, force: true });
});

const startRun = async (api: TestApi, input: string, model = "main") => {
  const res = await postJson(api, "/v1/runs", { model, input }, { key: KEYS.admin });
  expect(res.status).toBe(202);
  return ((await res.json()) as { id: string }).id;
};
const frameShape = (f: { event: string | undefined; id: string | undefined; data: string }) => ({
  event: f.event,
  id: f.id,
  data: JSON.parse(f.data) as Record<string, unknown>,
});

describe("runs across two processes on one store", () => {
  it("streams a run executing on A from B: the same events as A gives, in order, ending with the final one", async () => {
    stub.script({ text: "one two three four five six", chunkDelayMs: 40 });
    const id = await startRun(a, "count");
    const fromB = b.request(`/v1/runs/${id}/events`, { key: KEYS.admin }).then(readSse);
    const fromA = a.request(`/v1/runs/${id}/events`, { key: KEYS.admin }).then(readSse);
    const [framesB, framesA] = await Promise.all([fromB, fromA]);
    expect(framesB.map(frameShape)).toEqual(framesA.map(frameShape));
    expect(framesB[0]!.event).toBe("run.started");
    expect(framesB.at(-1)!.event).toBe("run.completed");
    const deltas = framesB.filter((f) => f.event === "message.delta").map((f) => JSON.parse(f.data).delta);
    expect(deltas.join("")).toBe("one two three four five six");
    expect(deltas.length).toBeGreaterThan(1);

    const run = (await (await b.request(`/v1/runs/${id}`, { key: KEYS.admin })).json()) as Record<
      string,
      any
    >;
    expect(run).toMatchObject({
      id,
      status: "completed",
      output: "one two three four five six",
      agent: "main",
    });
    expect(run.usage).not.toBeNull();
    // Resuming on B after an event id replays only what followed it.
    const resumed = await readSse(
      await b.request(`/v1/runs/${id}/events`, { key: KEYS.admin, headers: { "last-event-id": "2" } }),
    );
    expect(resumed.map((f) => f.id)).toEqual(framesA.slice(3).map((f) => f.id));
  });

  it("keeps another key out of a run on the other process (404), as on its own", async () => {
    stub.script({ text: "secret" });
    const id = await startRun(a, "mine");
    for (const path of [`/v1/runs/${id}`, `/v1/runs/${id}/events`]) {
      const res = await b.request(path, { key: KEYS.webui });
      expect(res.status).toBe(404);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("run_not_found");
    }
    const stop = await postJson(b, `/v1/runs/${id}/stop`, {}, { key: KEYS.webui });
    expect(stop.status).toBe(404);
    await stop.arrayBuffer();
  });

  it("stops a run executing on A through B's /stop: it ends cancelled and the model stream is cut", async () => {
    const aborted = stub.abortedStreams();
    stub.script({ text: Array.from({ length: 200 }, (_, i) => `w${i}`).join(" "), chunkDelayMs: 30 });
    const id = await startRun(a, "long");
    const events = b.request(`/v1/runs/${id}/events`, { key: KEYS.admin }).then(readSse);
    await stub.waitFor(() => stub.activeStreams() > 0);
    const stopped = await postJson(b, `/v1/runs/${id}/stop`, {}, { key: KEYS.admin });
    expect(stopped.status).toBe(200);
    expect(((await stopped.json()) as { status: string }).status).toBe("cancelling");
    const frames = await events;
    expect(frames.at(-1)!.event).toBe("run.cancelled");
    await stub.waitFor(() => stub.abortedStreams() > aborted);
    const run = (await (await b.request(`/v1/runs/${id}`, { key: KEYS.admin })).json()) as { status: string };
    expect(run.status).toBe("cancelled");
    const onA = (await (await a.request(`/v1/runs/${id}`, { key: KEYS.admin })).json()) as { status: string };
    expect(onA.status).toBe("cancelled");
  });

  it("approves on B a tool call waiting on A: A runs the tool, B's events show who approved; a second answer is refused", async () => {
    const step = (body: StubChatRequest): StubResponse => {
      const last = body.messages.at(-1);
      if (last?.role === "tool") return { text: `tool said: ${String(last.content)}` };
      return {
        toolCalls: [
          { name: "cron_create", arguments: { schedule: "every 1h", prompt: "ping", deliver: "local" } },
        ],
      };
    };
    stub.script(step, step);
    const id = await startRun(a, "schedule a ping", "ops");
    const res = await b.request(`/v1/runs/${id}/events`, { key: KEYS.admin });
    const reader = res.body!.getReader();
    let text = "";
    while (!text.includes("event: approval.required")) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`the run ended without asking: ${text}`);
      text += new TextDecoder().decode(value);
    }
    const waiting = (await (await b.request(`/v1/runs/${id}`, { key: KEYS.admin })).json()) as Record<
      string,
      any
    >;
    expect(waiting.pending_approvals).toEqual([{ approval_id: expect.any(String), tool: "cron_create" }]);
    expect(await a.gateway.cron!.list("ops")).toHaveLength(0);

    const approved = await postJson(b, `/v1/runs/${id}/approve`, {}, { key: KEYS.admin });
    expect(approved.status).toBe(200);
    const body = (await approved.json()) as Record<string, any>;
    expect(body.approval).toEqual({
      approval_id: waiting.pending_approvals[0].approval_id,
      tool: "cron_create",
      approved: true,
    });
    expect(body.pending_approvals).toEqual([]);
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    const resolved = text.split("\n\n").find((f) => f.includes("event: approval.resolved"))!;
    expect(JSON.parse(resolved.slice(resolved.indexOf("data: ") + 6))).toMatchObject({
      approved: true,
      by: expect.stringMatching(/^api:/),
    });
    expect(text).toContain("event: run.completed");
    expect(await a.gateway.cron!.list("ops")).toHaveLength(1);
    const again = await postJson(
      b,
      `/v1/runs/${id}/deny`,
      { approval_id: waiting.pending_approvals[0].approval_id },
      { key: KEYS.admin },
    );
    expect(again.status).toBe(409);
    await again.arrayBuffer();
  });

  it("answers 503 store_unavailable, starting nothing, when the run cannot be stored", async () => {
    const db = sqliteDatabase(a.store);
    const requests = stub.requests.length;
    db.exec(
      "CREATE TEMP TRIGGER refuse_runs BEFORE INSERT ON main.runs BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END",
    );
    try {
      const res = await postJson(a, "/v1/runs", { model: "main", input: "never" }, { key: KEYS.admin });
      expect(res.status).toBe(503);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("store_unavailable");
    } finally {
      db.exec("DROP TRIGGER refuse_runs");
    }
    await new Promise((r) => setTimeout(r, 100));
    expect(stub.requests.length).toBe(requests);
  });

  it("retries a run's writes the store refused for a while: B still gets every event and the end", async () => {
    const db = sqliteDatabase(a.store);
    stub.script({ text: "alpha beta gamma delta", chunkDelayMs: 20 });
    const id = await startRun(a, "flaky");
    db.exec(
      "CREATE TEMP TRIGGER refuse_events BEFORE INSERT ON main.run_events BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END",
    );
    const fromB = b.request(`/v1/runs/${id}/events`, { key: KEYS.admin }).then(readSse);
    await new Promise((r) => setTimeout(r, 300));
    db.exec("DROP TRIGGER refuse_events");
    const framesB = await fromB;
    const framesA = await readSse(await a.request(`/v1/runs/${id}/events`, { key: KEYS.admin }));
    expect(framesB.map(frameShape)).toEqual(framesA.map(frameShape));
    expect(framesB.at(-1)!.event).toBe("run.completed");
  });

  it("a process starting runs fails the runs of dead processes that nobody reads", async () => {
    await b.store.runs.create(orphan("run_unread", (await ownerOfAdmin()) as string), [], RETENTION);
    // A third process on the file: its first run sweeps the store.
    const c = await startApi(config(stub.url), { home, runner: createAgentRunner({ maxRetries: 0 }) });
    try {
      stub.script({ text: "sweep" });
      await startRun(c, "sweep");
      const deadline = Date.now() + 5000;
      while ((await b.store.runs.get("run_unread"))?.status !== "failed") {
        expect(Date.now()).toBeLessThan(deadline);
        await new Promise((r) => setTimeout(r, 20));
      }
      expect((await b.store.runs.get("run_unread"))?.error?.code).toBe("replica_lost");
    } finally {
      await c.close();
    }
  });

  it("a process shutting down stores the end of the runs it executes before it lets go (not replica_lost later)", async () => {
    const c = await startApi(config(stub.url), { home, runner: createAgentRunner({ maxRetries: 0 }) });
    try {
      stub.script({ text: "a b c d e f g h i j k l m n o p", chunkDelayMs: 100 });
      const id = await startRun(c, "long");
      const deadline = Date.now() + 5000;
      while (!(await b.store.runs.events(id, 0)).some((e) => e.event === "message.delta")) {
        expect(Date.now()).toBeLessThan(deadline);
        await new Promise((r) => setTimeout(r, 20));
      }
      // `switchboard run` closes the store right after the API server: by then the run's end must be stored.
      await c.api.close();
      const stored = await b.store.runs.get(id);
      expect(stored).toMatchObject({ status: "failed", error: { code: "shutdown" } });
      const events = (await b.store.runs.events(id, 0)).map((e) => e.event);
      expect(events.at(-1)).toBe("run.failed");
    } finally {
      await c.close();
    }
  });

  it("fails a run whose executing process is gone (no presence lease) instead of leaving it running", async () => {
    await b.store.runs.create(
      orphan("run_orphan", (await ownerOfAdmin()) as string),
      [{ seq: 0, event: "run.started", data: { event: "run.started", run_id: "run_orphan", seq: 0 } }],
      RETENTION,
    );
    const frames = await readSse(await b.request("/v1/runs/run_orphan/events", { key: KEYS.admin }));
    expect(frames.map((f) => f.event)).toEqual(["run.started", "run.failed"]);
    expect(JSON.parse(frames[1]!.data)).toMatchObject({ error: { code: "replica_lost" }, output: "half" });
    const run = (await (await a.request("/v1/runs/run_orphan", { key: KEYS.admin })).json()) as Record<
      string,
      any
    >;
    expect(run).toMatchObject({ status: "failed", error: { code: "replica_lost" } });
  });
});

const RETENTION = { maxAgeMs: 3_600_000, maxCount: 1000 };
/** A stored run whose replica never held a presence lease (a process killed long ago). */
const orphan = (id: string, owner: string) => ({
  id,
  owner,
  agentId: "main",
  sessionId: `api-${id}`,
  createdAt: Date.now(),
  replicaId: "gone-replica",
  status: "running" as const,
  completedAt: null,
  output: "half",
  usage: null,
  error: null,
  pendingApprovals: [],
});

/** The owner a run started with `KEYS.admin` is stored under (read back from a run A stored). */
async function ownerOfAdmin(): Promise<string | undefined> {
  stub.script({ text: "who" });
  const id = await startRun(a, "who am i");
  return (await a.store.runs.get(id))?.owner;
}
