import { createAgentRunner, type SwitchboardAgentRunner } from "@switchboard/agent";
import { CronManager } from "@switchboard/core";
import { type StubChatRequest, type StubLlm, type StubResponse, startStubLlm } from "@switchboard/testing";
import { afterEach, describe, expect, it } from "vitest";
import { principalIdOfKey } from "../src/auth.ts";
import { KEYS, postJson, startApi, type TestApi } from "./helpers.ts";

let stub: StubLlm;
let api: TestApi;
let runner: SwitchboardAgentRunner;

/** Two model requests: call cron_create, then answer with what the tool said. */
function createJobTurn(): StubResponse[] {
  const step = (body: StubChatRequest): StubResponse => {
    const last = body.messages.at(-1);
    if (last?.role === "tool") return { text: `tool said: ${String(last.content)}` };
    return {
      toolCalls: [
        { name: "cron_create", arguments: { schedule: "every 1h", prompt: "ping", deliver: "local" } },
      ],
    };
  };
  return [step, step];
}

async function start(timeoutS = 60) {
  stub = await startStubLlm();
  runner = createAgentRunner();
  api = await startApi(
    {
      providers: { local: { kind: "openai-compatible", base_url: stub.url } },
      agents: {
        main: {},
        ops: {
          model: { provider: "local", name: "m" },
          approval: ["cron_create"],
          approval_timeout_s: timeoutS,
        },
      },
      api_server: { keys: [{ key: KEYS.admin, agents: "*" }] },
    },
    { runner },
  );
  const gateway = api.gateway;
  gateway.setCron(new CronManager({ config: () => gateway.config, router: () => gateway.router }));
}

afterEach(async () => {
  await api.close();
  await runner.close();
  await stub.close();
});

/** Follow a run's SSE events live, collecting `{event, data}` until `stop` says so (bounded). */
async function follow(
  runId: string,
  stop: (e: { event: string; data: Record<string, any> }) => boolean,
): Promise<Array<{ event: string; data: Record<string, any> }>> {
  const res = await api.request(`/v1/runs/${runId}/events`, { key: KEYS.admin });
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  const seen: Array<{ event: string; data: Record<string, any> }> = [];
  let buffer = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return seen;
      buffer += decoder.decode(value, { stream: true });
      let cut = buffer.indexOf("\n\n");
      while (cut >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        cut = buffer.indexOf("\n\n");
        const event = /^event: (.+)$/m.exec(block)?.[1];
        const data = /^data: (.+)$/m.exec(block)?.[1];
        if (!event || !data) continue;
        const e = { event, data: JSON.parse(data) };
        seen.push(e);
        if (stop(e)) return seen;
      }
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}

async function startRun(): Promise<string> {
  const res = await postJson(
    api,
    "/v1/runs",
    { model: "ops", input: "schedule a ping" },
    { key: KEYS.admin },
  );
  expect(res.status).toBe(202);
  return ((await res.json()) as { id: string }).id;
}

describe("approvals over the API", () => {
  it("emits approval.required, waits, and runs the tool after POST /v1/runs/{id}/approve", async () => {
    await start();
    stub.script(...createJobTurn());
    const id = await startRun();
    const before = await follow(id, (e) => e.event === "approval.required");
    const required = before.at(-1)!;
    expect(required.data).toMatchObject({
      tool: "cron_create",
      input: { schedule: "every 1h", prompt: "ping" },
    });
    // Nothing ran yet, and the run says what it waits for.
    expect(await api.gateway.cron!.list("ops")).toHaveLength(0);
    const run = (await (await api.request(`/v1/runs/${id}`, { key: KEYS.admin })).json()) as any;
    expect(run.status).toBe("running");
    expect(run.pending_approvals).toEqual([{ approval_id: required.data.approval_id, tool: "cron_create" }]);

    const answer = await postJson(api, `/v1/runs/${id}/approve`, {}, { key: KEYS.admin });
    expect(answer.status).toBe(200);
    const events = await follow(id, (e) => e.event === "run.completed" || e.event === "run.failed");
    expect(events.map((e) => e.event)).toContain("approval.resolved");
    expect(events.find((e) => e.event === "approval.resolved")!.data).toMatchObject({
      approved: true,
      by: `api:${principalIdOfKey(KEYS.admin)}`,
    });
    expect(events.at(-1)!.event).toBe("run.completed");
    expect(await api.gateway.cron!.list("ops")).toHaveLength(1);
  });

  it("does not run the tool after POST /v1/runs/{id}/deny; the model reads the denial", async () => {
    await start();
    stub.script(...createJobTurn());
    const id = await startRun();
    const required = (await follow(id, (e) => e.event === "approval.required")).at(-1)!;
    const res = await postJson(
      api,
      `/v1/runs/${id}/deny`,
      { approval_id: required.data.approval_id, reason: "not today" },
      { key: KEYS.admin },
    );
    expect(res.status).toBe(200);
    const events = await follow(id, (e) => e.event === "run.completed");
    expect(events.find((e) => e.event === "approval.resolved")!.data).toMatchObject({
      approved: false,
      reason: "not today",
    });
    expect(events.at(-1)!.data.output).toContain(
      `cron_create was not run: denied by api:${principalIdOfKey(KEYS.admin)}: not today`,
    );
    expect(await api.gateway.cron!.list("ops")).toHaveLength(0);
    // The decision is in the audit log, by the key that made it.
    expect(await api.gateway.store.audit.list({ action: "approval.deny" })).toEqual([
      expect.objectContaining({
        actor: `api:${principalIdOfKey(KEYS.admin)}`,
        target: "ops/cron_create",
        detail: {
          approval_id: required.data.approval_id,
          session_id: expect.any(String),
          reason: "not today",
        },
      }),
    ]);
  });

  it("answers 409 when the run has nothing waiting", async () => {
    await start();
    const res = await postJson(api, "/v1/runs", { model: "ops", input: "hello" }, { key: KEYS.admin });
    const { id } = (await res.json()) as { id: string };
    await follow(id, (e) => e.event === "run.completed");
    const answer = await postJson(api, `/v1/runs/${id}/approve`, {}, { key: KEYS.admin });
    expect(answer.status).toBe(409);
    expect(((await answer.json()) as any).error.code).toBe("no_pending_approval");
  });

  it("denies when nobody answers before approval_timeout_s", async () => {
    await start(0.3);
    stub.script(...createJobTurn());
    const id = await startRun();
    const events = await follow(id, (e) => e.event === "run.completed");
    expect(events.find((e) => e.event === "approval.resolved")!.data).toMatchObject({
      approved: false,
      by: "timeout",
    });
    expect(events.at(-1)!.data.output).toContain("nobody approved it in time");
    expect(await api.gateway.cron!.list("ops")).toHaveLength(0);
  });

  it("denies at once on a chat completion, where nobody can answer", async () => {
    await start();
    stub.script(...createJobTurn());
    const completion = await api.client({ key: KEYS.admin }).chat.completions.create({
      model: "ops",
      messages: [{ role: "user", content: "schedule a ping" }],
    });
    expect(completion.choices[0]!.message.content).toContain("nobody can approve calls on this channel");
    expect(await api.gateway.cron!.list("ops")).toHaveLength(0);
  });
});
