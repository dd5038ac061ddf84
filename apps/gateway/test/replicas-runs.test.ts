import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  createTestDatabase,
  type StubChatRequest,
  type StubLlm,
  type StubResponse,
  startStubLlm,
  type TestDatabase,
} from "@switchboard/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningCli, startCli } from "./cli-helpers.ts";

/**
 * Two `switchboard run` processes on one PostgreSQL database, their agent's model a slow stub: a run started on
 * replica A is streamed, read and stopped through replica B, and a run whose replica is killed (`kill -9`) ends
 * failed on B once A's presence lease lapses.
 */
const KEY = "sk-replica-runs-0123456789";
const LEASE_S = 2;

let db: TestDatabase;
let stub: StubLlm;
const home = mkdtempSync(join(tmpdir(), "sb-replica-runs-"));
const replicas: Array<{ cli: RunningCli; url: string }> = [];

async function boot(): Promise<{ cli: RunningCli; url: string }> {
  const child = startCli(["run", "--home", home], { SWITCHBOARD_HOME: home });
  const line = await child.waitForLog((l) => typeof l.url === "string", 30_000);
  const r = { cli: child, url: String(line.url) };
  replicas.push(r);
  return r;
}

beforeAll(async () => {
  [db, stub] = await Promise.all([createTestDatabase(), startStubLlm()]);
  writeFileSync(
    join(home, "config.yaml"),
    `store: { kind: postgres, url: "${db.url}", pool: 4, lease_s: ${LEASE_S} }
providers:
  stub: { kind: openai-compatible, base_url: "${stub.url}" }
agents:
  main: { model: { provider: stub, name: stub-model }, toolsets: [] }
  ops: { model: { provider: stub, name: stub-model }, approval: [cron_create] }
api_server:
  port: 0
  keys: [{ key: "${KEY}", agents: "*" }]
  run_poll_ms: 100
log_level: info
shutdown_timeout_s: 2
`,
  );
  // Both migrate at once: one does it, under the migration lock.
  await Promise.all([boot(), boot()]);
}, 60_000);

afterAll(async () => {
  for (const r of replicas) r.cli.kill("SIGKILL");
  await Promise.all(replicas.map((r) => r.cli.exited));
  await stub?.close();
  await db?.drop();
  rmSync(home, { recursive: true, force: true });
});

const call = (base: string, path: string, init: RequestInit = {}) =>
  fetch(`${base}/v1${path}`, {
    ...init,
    headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json", ...init.headers },
    signal: AbortSignal.timeout(15_000),
  });

async function startRun(base: string, input: string, model = "main"): Promise<string> {
  const res = await call(base, "/runs", { method: "POST", body: JSON.stringify({ model, input }) });
  expect(res.status).toBe(202);
  return ((await res.json()) as { id: string }).id;
}

/** The SSE frames of `/v1/runs/{id}/events`, read to the end of the stream. */
async function events(base: string, id: string): Promise<Array<{ id: string; event: string; data: any }>> {
  const text = await (await call(base, `/runs/${id}/events`)).text();
  return text
    .split("\n\n")
    .filter((b) => b.includes("data: "))
    .map((block) => {
      const field = (name: string) =>
        block
          .split("\n")
          .find((l) => l.startsWith(`${name}: `))
          ?.slice(name.length + 2) ?? "";
      return { id: field("id"), event: field("event"), data: JSON.parse(field("data")) };
    });
}

const words = (n: number) => Array.from({ length: n }, (_, i) => `w${i}`).join(" ");

describe("API runs across two replicas on one PostgreSQL database", { timeout: 30_000 }, () => {
  it("B streams a run executing on A: A's events, in order, ending with run.completed", async () => {
    const [a, b] = [replicas[0]!, replicas[1]!];
    stub.script({ text: words(8), chunkDelayMs: 50 });
    const id = await startRun(a.url, "count");
    const [fromB, fromA] = await Promise.all([events(b.url, id), events(a.url, id)]);
    expect(fromB).toEqual(fromA);
    expect(fromB[0]!.event).toBe("run.started");
    expect(fromB.at(-1)!.event).toBe("run.completed");
    expect(fromB.map((f) => Number(f.id))).toEqual(fromB.map((_, i) => i));
    const deltas = fromB.filter((f) => f.event === "message.delta").map((f) => f.data.delta as string);
    expect(deltas.join("")).toBe(words(8));
    const run = (await (await call(b.url, `/runs/${id}`)).json()) as Record<string, unknown>;
    expect(run).toMatchObject({ id, status: "completed", output: words(8) });
  });

  it("B's /stop stops a run executing on A: it ends cancelled and the model stream is cut", async () => {
    const [a, b] = [replicas[0]!, replicas[1]!];
    const aborted = stub.abortedStreams();
    stub.script({ text: words(300), chunkDelayMs: 30 });
    const id = await startRun(a.url, "long");
    const following = events(b.url, id);
    await stub.waitFor(() => stub.activeStreams() > 0);
    const stop = await call(b.url, `/runs/${id}/stop`, { method: "POST", body: "{}" });
    expect(stop.status).toBe(200);
    expect(((await stop.json()) as { status: string }).status).toBe("cancelling");
    const frames = await following;
    expect(frames.at(-1)!.event).toBe("run.cancelled");
    expect(frames.filter((f) => f.event === "message.delta").length).toBeLessThan(300);
    await stub.waitFor(() => stub.abortedStreams() > aborted);
    for (const r of [a, b]) {
      const run = (await (await call(r.url, `/runs/${id}`)).json()) as { status: string };
      expect(run.status).toBe("cancelled");
    }
  });

  it("B approves a tool call waiting on A: A runs the tool and the run completes", async () => {
    const [a, b] = [replicas[0]!, replicas[1]!];
    const step = (body: StubChatRequest): StubResponse =>
      body.messages.at(-1)?.role === "tool"
        ? { text: "scheduled" }
        : {
            toolCalls: [
              { name: "cron_create", arguments: { schedule: "every 1h", prompt: "ping", deliver: "local" } },
            ],
          };
    stub.script(step, step);
    const id = await startRun(a.url, "schedule a ping", "ops");
    const following = events(b.url, id);
    const deadline = Date.now() + 10_000;
    let pending: Array<{ approval_id: string }> = [];
    while (pending.length === 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      pending = ((await (await call(b.url, `/runs/${id}`)).json()) as { pending_approvals: typeof pending })
        .pending_approvals;
    }
    const answer = await call(b.url, `/runs/${id}/approve`, { method: "POST", body: "{}" });
    expect(answer.status).toBe(200);
    expect(((await answer.json()) as { approval: unknown }).approval).toMatchObject({
      approval_id: pending[0]!.approval_id,
      approved: true,
    });
    const frames = await following;
    expect(frames.map((f) => f.event)).toContain("approval.resolved");
    expect(frames.at(-1)).toMatchObject({ event: "run.completed", data: { output: "scheduled" } });
  });

  it("a run whose replica is killed (kill -9) ends failed on B once A's lease lapses", async () => {
    const [a, b] = [replicas[0]!, replicas[1]!];
    stub.script({ text: words(1000), chunkDelayMs: 30 });
    const id = await startRun(a.url, "doomed");
    await stub.waitFor(() => stub.activeStreams() > 0);
    const following = events(b.url, id);
    a.cli.kill("SIGKILL");
    await a.cli.exited;
    const started = Date.now();
    const frames = await following;
    expect(frames.at(-1)).toMatchObject({ event: "run.failed", data: { error: { code: "replica_lost" } } });
    // The lease, then at most one liveness check of the follower (half a lease) and a poll.
    expect(Date.now() - started).toBeLessThan(LEASE_S * 1000 * 2 + 2000);
    const run = (await (await call(b.url, `/runs/${id}`)).json()) as Record<string, any>;
    expect(run).toMatchObject({ status: "failed", error: { code: "replica_lost" } });
  });
});
