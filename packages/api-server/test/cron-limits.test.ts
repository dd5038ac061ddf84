import { CronManager } from "@switchboard/core";
import { afterEach, describe, expect, it } from "vitest";
import { postJson, startApi, type TestApi } from "./helpers.ts";

const ALL = "key-all-agents-0001";
const BETA = "key-beta-only-0002";
let api: TestApi | undefined;
afterEach(async () => {
  await api?.close();
  api = undefined;
});

async function start(cron: Record<string, unknown> = {}) {
  api = await startApi({
    agents: { main: {}, alpha: {}, beta: {} },
    routes: [{ match: { platform: "telegram", chat_id: "-100" }, agent: "alpha" }],
    api_server: {
      keys: [
        { key: ALL, agents: "*" },
        { key: BETA, agents: ["beta"] },
      ],
    },
    cron,
  });
  const manager = new CronManager({ config: () => api!.gateway.config, router: () => api!.gateway.router });
  api.gateway.setCron(manager);
  return { api, manager };
}

const create = (api: TestApi, key: string, body: Record<string, unknown>) =>
  postJson(api, "/v1/cron/jobs", body, { key });
const errorOf = async (res: Response) =>
  ((await res.json()) as { error: { message: string; code: string } }).error;

describe("cron limits", () => {
  it("caps the jobs of one agent (cron.max_jobs_per_agent), for the API and the cron tool's service alike", async () => {
    const { api, manager } = await start({ max_jobs_per_agent: 2 });
    for (let i = 0; i < 2; i++)
      expect((await create(api, ALL, { agent: "beta", schedule: "every 1h", prompt: `p${i}` })).status).toBe(
        201,
      );
    const third = await create(api, ALL, { agent: "beta", schedule: "every 1h", prompt: "p3" });
    expect(third.status).toBe(400);
    expect((await errorOf(third)).message).toMatch(/cron\.max_jobs_per_agent/);
    // The cron tool calls the same service the gateway hands every turn.
    await expect(manager.create("beta", { schedule: "1h", prompt: "tool" })).rejects.toThrow(
      /max_jobs_per_agent/,
    );
    // Concurrent creates cannot slip past the cap together.
    const burst = await Promise.allSettled(
      Array.from({ length: 5 }, (_, i) => manager.create("alpha", { schedule: "1h", prompt: `b${i}` })),
    );
    expect(burst.filter((r) => r.status === "fulfilled")).toHaveLength(2);
    expect(await manager.list("alpha")).toHaveLength(2);
  });

  it("refuses repeating schedules faster than cron.min_interval_s (default 1 minute), cron expressions included", async () => {
    const { api } = await start();
    for (const schedule of ["every 30s", "*/10 * * * * *", "* * * * * *"]) {
      const res = await create(api, ALL, { agent: "beta", schedule, prompt: "spam" });
      expect(res.status, schedule).toBe(400);
      expect((await errorOf(res)).message).toMatch(/cron\.min_interval_s/);
    }
    for (const schedule of ["every 1m", "* * * * *", "30s"])
      expect((await create(api, ALL, { agent: "beta", schedule, prompt: "fine" })).status, schedule).toBe(
        201,
      );
  });

  it("takes a configured minimum interval", async () => {
    const { api } = await start({ min_interval_s: 10 });
    expect((await create(api, ALL, { agent: "beta", schedule: "every 30s", prompt: "ok" })).status).toBe(201);
    expect((await create(api, ALL, { agent: "beta", schedule: "*/5 * * * * *", prompt: "no" })).status).toBe(
      400,
    );
  });

  it("never says whether an agent the key may not use exists", async () => {
    const { api } = await start();
    const forbidden = await create(api, BETA, { agent: "alpha", schedule: "1h", prompt: "x" });
    const missing = await create(api, BETA, { agent: "nosuch", schedule: "1h", prompt: "x" });
    expect(forbidden.status).toBe(missing.status);
    const [f, m] = [await errorOf(forbidden), await errorOf(missing)];
    expect(f.code).toBe(m.code);
    expect(f.message.replace("alpha", "?")).toBe(m.message.replace("nosuch", "?"));
    // A delivery target routed to an agent the key cannot see: refused without naming that agent.
    const target = await create(api, BETA, {
      agent: "beta",
      schedule: "1h",
      prompt: "x",
      deliver: "telegram:-100",
    });
    expect(target.status).toBe(400);
    expect((await errorOf(target)).message).not.toContain("alpha");
    const listed = await api.request("/v1/cron/jobs?agent=alpha", { key: BETA });
    expect(((await listed.json()) as { data: unknown[] }).data).toEqual([]);
  });
});
