import { CronManager } from "@switchboard/core";
import { afterEach, describe, expect, it } from "vitest";
import { startApi, type TestApi } from "./helpers.ts";

const ALL = "key-all-agents-0001";
const BETA = "key-beta-only-0002";
let api: TestApi;

afterEach(async () => {
  await api?.close();
});

async function start(): Promise<TestApi> {
  api = await startApi({
    agents: { main: {}, alpha: {}, beta: {} },
    routes: [
      { match: { platform: "telegram", chat_id: "-100" }, agent: "alpha" },
      { match: { platform: "telegram", chat_id: "-200" }, agent: "beta" },
    ],
    api_server: {
      keys: [
        { key: ALL, agents: "*" },
        { key: BETA, agents: ["beta"] },
      ],
    },
  });
  api.gateway.setCron(
    new CronManager({ config: () => api.gateway.config, router: () => api.gateway.router }),
  );
  return api;
}

const json = (body: unknown) => ({
  method: "POST",
  body: JSON.stringify(body),
  headers: { "content-type": "application/json" },
});

describe("the cron API", () => {
  it("creates, lists and deletes jobs scoped to the agents the key may use", async () => {
    await start();
    const a = await api.request("/v1/cron/jobs", {
      key: ALL,
      ...json({ agent: "alpha", schedule: "every 1h", prompt: "alpha digest", deliver: "telegram:-100" }),
    });
    expect(a.status).toBe(201);
    const alphaJob = (await a.json()) as { id: string; agent: string };
    expect(alphaJob.agent).toBe("alpha");
    const b = await api.request("/v1/cron/jobs", {
      key: BETA,
      ...json({
        model: "switchboard/beta",
        schedule: "0 9 * * *",
        timezone: "Europe/Berlin",
        prompt: "beta digest",
      }),
    });
    expect(b.status).toBe(201);

    const seenByBeta = (await (await api.request("/v1/cron/jobs", { key: BETA })).json()) as {
      data: Array<{ agent: string }>;
    };
    expect(seenByBeta.data.map((j) => j.agent)).toEqual(["beta"]);
    const seenByAll = (await (await api.request("/v1/cron/jobs", { key: ALL })).json()) as {
      data: Array<{ agent: string }>;
    };
    expect(seenByAll.data.map((j) => j.agent).sort()).toEqual(["alpha", "beta"]);
    const pinned = (await (await api.request("/agents/alpha/v1/cron/jobs", { key: ALL })).json()) as {
      data: Array<{ agent: string }>;
    };
    expect(pinned.data.map((j) => j.agent)).toEqual(["alpha"]);

    const denied = await api.request(`/v1/cron/jobs/${alphaJob.id}`, { key: BETA, method: "DELETE" });
    expect(denied.status).toBe(404);
    const deleted = await api.request(`/v1/cron/jobs/${alphaJob.id}`, { key: ALL, method: "DELETE" });
    expect(deleted.status).toBe(200);
    expect(await deleted.json()).toMatchObject({ id: alphaJob.id, agent: "alpha", deleted: true });
  });

  it("answers an agent the key may not use exactly like a missing one", async () => {
    await start();
    const hidden = await api.request("/v1/cron/jobs", {
      key: BETA,
      ...json({ agent: "alpha", schedule: "1h", prompt: "x" }),
    });
    const missing = await api.request("/v1/cron/jobs", {
      key: BETA,
      ...json({ agent: "nobody", schedule: "1h", prompt: "x" }),
    });
    expect(hidden.status).toBe(404);
    expect(missing.status).toBe(404);
    const h = (await hidden.json()) as { error: { code: string; message: string } };
    const m = (await missing.json()) as { error: { code: string; message: string } };
    expect(h.error.code).toBe("model_not_found");
    expect(m.error.code).toBe("model_not_found");
    expect(h.error.message.replace("alpha", "X")).toBe(m.error.message.replace("nobody", "X"));
  });

  it("rejects invalid schedules and targets that route to another agent with 400", async () => {
    await start();
    const bad = await api.request("/v1/cron/jobs", {
      key: ALL,
      ...json({ agent: "beta", schedule: "whenever", prompt: "x" }),
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { message: string } }).error.message).toContain("Accepted forms");
    const foreign = await api.request("/v1/cron/jobs", {
      key: ALL,
      ...json({ agent: "beta", schedule: "1h", prompt: "x", deliver: "telegram:-100" }),
    });
    expect(foreign.status).toBe(400);
    const foreignMessage = ((await foreign.json()) as { error: { message: string } }).error.message;
    expect(foreignMessage).toContain('does not route to "beta"');
    // The chat's own agent is not named: the caller learns nothing about agents beyond its own.
    expect(foreignMessage).not.toContain("alpha");
    const schema = await api.request("/v1/cron/jobs", { key: ALL, ...json({ agent: "beta", prompt: "x" }) });
    expect(schema.status).toBe(400);
    expect(((await schema.json()) as { error: { param: string } }).error.param).toBe("schedule");
    const noAuth = await api.request("/v1/cron/jobs");
    expect(noAuth.status).toBe(401);
  });
});
