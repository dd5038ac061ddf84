import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KEYS, startApi, type TestApi } from "./helpers.ts";

const CONFIG = {
  agents: {
    main: {},
    support: { name: "Support", description: "Helps customers" },
    ops: {},
    hidden: { expose: false },
  },
  api_server: {
    keys: [
      { key: KEYS.admin, agents: "*" },
      { key: KEYS.webui, name: "webui", agents: ["support", "hidden"] },
    ],
  },
};

describe("models", () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startApi(CONFIG);
  });
  afterAll(async () => {
    await api.close();
  });

  it("lists the exposed agents a full-access key may use, owned by switchboard", async () => {
    const page = await api.client({ key: KEYS.admin }).models.list();
    const ids = page.data.map((m) => m.id).sort();
    expect(ids).toEqual(["main", "ops", "support"]);
    for (const m of page.data) {
      expect(m.object).toBe("model");
      expect(m.owned_by).toBe("switchboard");
    }
  });

  it("lists only the agents in a key's allowlist", async () => {
    const page = await api.client({ key: KEYS.webui }).models.list();
    expect(page.data.map((m) => m.id)).toEqual(["support"]);
  });

  it("retrieves a model by id or as switchboard/<id>", async () => {
    const client = api.client({ key: KEYS.admin });
    expect((await client.models.retrieve("support")).id).toBe("support");
    expect((await client.models.retrieve("switchboard/support")).id).toBe("support");
  });

  it("lists only the pinned agent under /agents/{id}/v1", async () => {
    const page = await api.client({ key: KEYS.webui, agent: "support" }).models.list();
    expect(page.data.map((m) => m.id)).toEqual(["support"]);
  });

  it("answers /health without a key, with the version, agent count and uptime", async () => {
    const res = await api.request("/health");
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body.status).toBe("ok");
    expect(body.agents).toBe(4);
    expect(typeof body.version).toBe("string");
    expect(typeof body.uptime_s).toBe("number");
    expect((await api.request("/v1/health")).status).toBe(200);
    // Only health is open: the rest of /v1 still wants a key.
    expect((await api.request("/v1/models")).status).toBe(401);
  });
});

describe("models listing modes", () => {
  it("lists hidden agents too with api_server.models: all", async () => {
    const api = await startApi({ ...CONFIG, api_server: { ...CONFIG.api_server, models: "all" } });
    try {
      const admin = await api.client({ key: KEYS.admin }).models.list();
      expect(admin.data.map((m) => m.id).sort()).toEqual(["hidden", "main", "ops", "support"]);
      const webui = await api.client({ key: KEYS.webui }).models.list();
      expect(webui.data.map((m) => m.id).sort()).toEqual(["hidden", "support"]);
    } finally {
      await api.close();
    }
  });

  it("lists nothing with api_server.models: none, while the agents still answer by name", async () => {
    const api = await startApi({ ...CONFIG, api_server: { ...CONFIG.api_server, models: "none" } });
    try {
      const client = api.client({ key: KEYS.admin });
      expect((await client.models.list()).data).toEqual([]);
      const reply = await client.chat.completions.create({
        model: "support",
        messages: [{ role: "user", content: "hi" }],
      });
      expect(reply.choices[0]?.message.content).toBe("[support] hi");
    } finally {
      await api.close();
    }
  });
});
