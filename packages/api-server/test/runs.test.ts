import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KEYS, postJson, readSse, recordingRunner, startApi, type TestApi } from "./helpers.ts";

const runner = recordingRunner();
const CONFIG = {
  agents: { main: {}, support: {} },
  api_server: {
    keys: [
      { key: KEYS.admin, agents: "*" },
      { key: KEYS.webui, name: "webui", agents: "*" },
    ],
  },
};

async function waitForStatus(api: TestApi, id: string, status: string): Promise<Record<string, any>> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const run = (await (await api.request(`/v1/runs/${id}`, { key: KEYS.admin })).json()) as Record<
      string,
      any
    >;
    if (run.status === status) return run;
    if (Date.now() > deadline) throw new Error(`run ${id} is ${run.status}, not ${status}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("runs", () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startApi(CONFIG, { runner });
  });
  afterAll(async () => {
    await api.close();
  });

  it("starts a run at once with 202 and a run id, then reports it completed", async () => {
    const res = await postJson(
      api,
      "/v1/runs",
      { model: "support", input: "background job" },
      { key: KEYS.admin },
    );
    expect(res.status).toBe(202);
    expect(res.headers.get("x-switchboard-agent")).toBe("support");
    const run = (await res.json()) as Record<string, any>;
    expect(run.id).toMatch(/^run_[0-9a-f]{32}$/);
    expect(run.status).toBe("running");
    const done = await waitForStatus(api, run.id, "completed");
    expect(done.output).toBe("[support] background job");
    expect(done.usage.output_tokens).toBeGreaterThan(0);
  });

  it("streams a run's events over SSE, replaying what happened before the subscription", async () => {
    const run = (await (
      await postJson(api, "/v1/runs", { model: "main", input: "alpha beta gamma" }, { key: KEYS.admin })
    ).json()) as any;
    await waitForStatus(api, run.id, "completed");
    const res = await api.request(`/v1/runs/${run.id}/events`, { key: KEYS.admin });
    expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const frames = await readSse(res);
    const names = frames.map((f) => f.event);
    expect(names[0]).toBe("run.started");
    expect(names[names.length - 1]).toBe("run.completed");
    const deltas = frames.filter((f) => f.event === "message.delta").map((f) => JSON.parse(f.data).delta);
    expect(deltas.join("")).toBe("[main] alpha beta gamma");
    for (const f of frames) expect(JSON.parse(f.data)).toMatchObject({ run_id: run.id, event: f.event });
    expect(frames.map((f) => Number(f.id))).toEqual(frames.map((_, i) => i));
    // Resuming after an event id replays only what followed it.
    const resumed = await readSse(
      await api.request(`/v1/runs/${run.id}/events`, { key: KEYS.admin, headers: { "last-event-id": "2" } }),
    );
    expect(resumed.map((f) => Number(f.id))).toEqual(frames.slice(3).map((f) => Number(f.id)));
  });

  it("follows a live run's events and stops it on request", async () => {
    const run = (await (
      await postJson(api, "/v1/runs", { model: "main", input: "[[sleep:5000]] slow" }, { key: KEYS.admin })
    ).json()) as any;
    const events = api.request(`/v1/runs/${run.id}/events`, { key: KEYS.admin }).then(readSse);
    const stopped = await api.request(`/v1/runs/${run.id}/stop`, { method: "POST", key: KEYS.admin });
    expect(stopped.status).toBe(200);
    expect(["cancelling", "cancelled"]).toContain(((await stopped.json()) as any).status);
    const frames = await events;
    expect(frames[frames.length - 1]?.event).toBe("run.cancelled");
    const final = await waitForStatus(api, run.id, "cancelled");
    expect(final.completed_at).toBeGreaterThan(0);
    // The runner saw the abort: no orphaned model call.
    const turn = runner.turns.find((t) => t.input.some((m) => m.content === "[[sleep:5000]] slow"));
    expect(turn?.signal.aborted).toBe(true);
  });

  it("keeps a run to the key that started it", async () => {
    const run = (await (
      await postJson(api, "/v1/runs", { input: "private" }, { key: KEYS.admin })
    ).json()) as any;
    for (const path of [`/v1/runs/${run.id}`, `/v1/runs/${run.id}/events`]) {
      const res = await api.request(path, { key: KEYS.webui });
      expect(res.status).toBe(404);
      expect(((await res.json()) as any).error.code).toBe("run_not_found");
    }
    expect((await api.request(`/v1/runs/${run.id}/stop`, { method: "POST", key: KEYS.webui })).status).toBe(
      404,
    );
    expect((await api.request(`/agents/support/v1/runs/${run.id}`, { key: KEYS.admin })).status).toBe(404);
    expect((await api.request(`/agents/main/v1/runs/${run.id}`, { key: KEYS.admin })).status).toBe(200);
  });

  it("continues a session given by session_id", async () => {
    const a = (await (
      await postJson(
        api,
        "/v1/runs",
        { model: "support", input: "one", session_id: "run-sess" },
        { key: KEYS.admin },
      )
    ).json()) as any;
    await waitForStatus(api, a.id, "completed");
    const b = (await (
      await postJson(
        api,
        "/v1/runs",
        { model: "support", input: "two", session_id: "run-sess" },
        { key: KEYS.admin },
      )
    ).json()) as any;
    expect(b.session_id).toBe("run-sess");
    await waitForStatus(api, b.id, "completed");
    const turn = runner.turns[runner.turns.length - 1]!;
    expect(turn.history.map((m) => m.content)).toEqual(["one", "[support] one"]);
  });
});
