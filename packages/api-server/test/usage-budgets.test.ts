import { afterEach, describe, expect, it } from "vitest";
import {
  ADMIN_KEY,
  baseConfig,
  complete,
  keyIdOf,
  startWorld,
  USER_KEY,
  type World,
} from "./operate-world.ts";

const worlds: World[] = [];
afterEach(async () => {
  for (const w of worlds.splice(0)) await w.close();
});

async function world(extra: Record<string, unknown> = {}): Promise<World> {
  const w = await startWorld((url) => baseConfig(url, extra));
  worlds.push(w);
  return w;
}

describe("usage accounting", () => {
  it("records the stub provider's usage of an API turn per agent, user, key and session, priced from pricing:", async () => {
    const w = await world();
    w.stub.script({ text: "hello there", usage: { promptTokens: 1000, completionTokens: 500 } });
    const res = await w
      .client()
      .chat.completions.create(
        { model: "main", messages: [{ role: "user", content: "hi" }] },
        { headers: { "x-switchboard-user-id": "ada" } },
      );
    expect(res.choices[0]?.message.content).toBe("hello there");
    await w.gateway.idle();
    const rows = await w.store.usage.summary({ groupBy: ["agent", "user", "key", "session"] });
    expect(rows).toHaveLength(1);
    // 1,000 input at $1/M + 500 output at $2/M.
    expect(rows[0]).toMatchObject({
      agent: "main",
      user: "ada",
      key: keyIdOf(w, USER_KEY),
      inputTokens: 1000,
      outputTokens: 500,
      calls: 1,
    });
    expect(rows[0]!.costUsd).toBeCloseTo(0.002, 9);
    expect(rows[0]!.session).toBeTruthy();
    expect(await w.store.usage.total("agent:main", `d:${new Date().toISOString().slice(0, 10)}`)).toEqual({
      tokens: 1500,
      costUsd: expect.closeTo(0.002, 9),
    });
  });

  it("records a platform turn's usage under the platform user", async () => {
    const w = await world();
    w.stub.script({ text: "pong", usage: { promptTokens: 40, completionTokens: 2 } });
    expect(await w.chat("u-7", "ping")).toBe("pong");
    await w.gateway.idle();
    const [row] = await w.store.usage.summary({ groupBy: ["agent", "user", "key"] });
    expect(row).toMatchObject({ agent: "main", user: "u-7", key: null, inputTokens: 40, outputTokens: 2 });
    expect(await w.chat("u-7", "/usage")).toMatch(/You, today: 42 tokens, \$0\.0000/);
  });

  it("answers GET /v1/usage to admin keys only, grouped and filtered", async () => {
    const w = await world();
    w.stub.script(
      { text: "a", usage: { promptTokens: 10, completionTokens: 1 } },
      { text: "b", usage: { promptTokens: 20, completionTokens: 2 } },
    );
    await complete(w, USER_KEY, "one", "ada").then((r) => r.text());
    await complete(w, ADMIN_KEY, "two", "bob").then((r) => r.text());
    const denied = await w.request("/v1/usage", { key: USER_KEY });
    expect(denied.status).toBe(403);
    expect(((await denied.json()) as { error: { code: string } }).error.code).toBe("admin_required");
    const all = (await (await w.request("/v1/usage?group_by=user", { key: ADMIN_KEY })).json()) as {
      data: Array<{ user: string; input_tokens: number }>;
    };
    expect(all.data.map((r) => [r.user, r.input_tokens]).sort()).toEqual([
      ["ada", 10],
      ["bob", 20],
    ]);
    const one = (await (
      await w.request(`/v1/usage?key=${encodeURIComponent(keyIdOf(w, USER_KEY))}`, { key: ADMIN_KEY })
    ).json()) as {
      data: Array<{ user: string }>;
    };
    expect(one.data.map((r) => r.user)).toEqual(["ada"]);
  });
});

describe("budgets", () => {
  it("refuses a turn once the agent's daily budget is used up: a chat message and an API 429, the model not called", async () => {
    const w = await world({ agents: { main: { budget: { daily: 100 } } } });
    w.stub.script(
      { text: "first", usage: { promptTokens: 50, completionTokens: 10 } },
      { text: "second", usage: { promptTokens: 50, completionTokens: 10 } },
    );
    expect(await w.chat("u-1", "hello")).toBe("first");
    const ok = await complete(w, USER_KEY, "and again");
    expect(ok.status).toBe(200);
    await w.gateway.idle();
    expect(w.stub.requests).toHaveLength(2);

    // 120 of 100 tokens spent: the next turn does not start, on either side.
    const refusedChat = await w.chat("u-1", "one more?");
    expect(refusedChat).toMatch(
      /daily budget of agent "main" \(100 tokens\) is used up; it resets at \d{4}-\d\d-\d\dT00:00:00Z/,
    );
    const refused = await complete(w, USER_KEY, "one more?");
    expect(refused.status).toBe(429);
    expect(refused.headers.get("x-should-retry")).toBe("false");
    const body = (await refused.json()) as { error: { code: string; type: string; message: string } };
    expect(body.error.code).toBe("budget_exceeded");
    expect(body.error.message).toContain("used up");
    // A run is refused up front too, not accepted and failed later.
    const run = await w.request("/v1/runs", {
      key: USER_KEY,
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "main", input: "later?" }),
    });
    expect(run.status).toBe(429);
    expect(((await run.json()) as { error: { code: string } }).error.code).toBe("budget_exceeded");
    expect(w.stub.requests).toHaveLength(2);
  });

  it("enforces a key's own budget and the per-user default separately", async () => {
    const w = await world({
      budgets: { per_user: { daily: 30 } },
      api_server: {
        keys: [
          { key: ADMIN_KEY, name: "ops", admin: true },
          { key: USER_KEY, name: "webui", budget: { monthly: "$0.00001" } },
        ],
      },
    });
    w.stub.script(
      { text: "k", usage: { promptTokens: 10, completionTokens: 0 } },
      { text: "u", usage: { promptTokens: 40, completionTokens: 0 } },
    );
    // $1/M × 10 tokens = $0.00001: the key's monthly budget is used up after one call.
    expect((await complete(w, USER_KEY, "x", "carol")).status).toBe(200);
    // The usage shares the reply's (deferred) commit; a turn admitted before it lands is not yet charged.
    await w.gateway.idle();
    const byKey = await complete(w, USER_KEY, "y", "dave");
    expect(byKey.status).toBe(429);
    expect(((await byKey.json()) as { error: { message: string } }).error.message).toContain(
      "This API key's monthly budget",
    );
    // The admin key has no budget, but the user "erin" spends 40 of her 30 tokens and is then refused.
    expect((await complete(w, ADMIN_KEY, "z", "erin")).status).toBe(200);
    await w.gateway.idle();
    const byUser = await complete(w, ADMIN_KEY, "z", "erin");
    expect(((await byUser.json()) as { error: { message: string } }).error.message).toContain(
      "Your daily budget",
    );
    expect(w.stub.requests).toHaveLength(2);
  });

  it("budgets the caller's `user` (body field or OpenWebUI header) as one user across requests", async () => {
    const w = await world({ budgets: { per_user: { daily: 30 } } });
    w.stub.script(
      { text: "a", usage: { promptTokens: 40, completionTokens: 0 } },
      { text: "b", usage: { promptTokens: 5, completionTokens: 0 } },
    );
    const ask = (user: string) =>
      w
        .client()
        .chat.completions.create({ model: "main", messages: [{ role: "user", content: "hi" }], user });
    await ask("frank");
    await w.gateway.idle();
    expect(await w.store.usage.summary({ groupBy: ["user"] })).toEqual([
      expect.objectContaining({ user: "frank", inputTokens: 40 }),
    ]);
    // The body's `user` is the budgeted user: "frank" is refused, as when OpenWebUI names him in a header.
    const refused = await ask("frank").catch((err: unknown) => err);
    expect(refused).toMatchObject({ status: 429, code: "budget_exceeded" });
    const viaHeader = await w.request("/v1/chat/completions", {
      key: USER_KEY,
      method: "POST",
      headers: { "content-type": "application/json", "x-openwebui-user-id": "frank" },
      body: JSON.stringify({ model: "main", messages: [{ role: "user", content: "hi" }] }),
    });
    expect(viaHeader.status).toBe(429);
    expect(viaHeader.headers.get("x-should-retry")).toBe("false");
    // Another user of the same key still gets an answer.
    expect((await ask("gina")).choices[0]?.message.content).toBe("b");
    expect(w.stub.requests).toHaveLength(2);
  });

  it("stops a tool loop that crosses the budget after the current step, with a note", async () => {
    const w = await world({ agents: { main: { toolsets: ["skills"], budget: { daily: 100 } } } });
    const step = {
      toolCalls: [{ name: "skills_list", arguments: {} }],
      usage: { promptTokens: 55, completionTokens: 5 },
    };
    w.stub.script(step, step, step, { text: "never reached" });
    const res = await w
      .client()
      .chat.completions.create({ model: "main", messages: [{ role: "user", content: "go" }] });
    // Step 1: 60 tokens, under 100; step 2: 120, over: the loop stops after step 2 instead of running on.
    expect(w.stub.requests).toHaveLength(2);
    expect(res.choices[0]?.message.content).toMatch(
      /I stopped here: The daily budget of agent "main" .* is used up/,
    );
    await w.gateway.idle();
    expect((await w.store.usage.summary({ groupBy: [] }))[0]).toMatchObject({
      inputTokens: 110,
      outputTokens: 10,
    });
  });

  it("warns in the log and the admin chat when a budget crosses the threshold", async () => {
    const warnings: string[] = [];
    const logger = {
      level: "info",
      trace() {},
      debug() {},
      info() {},
      warn: (_o: unknown, msg?: string) => void warnings.push(String(msg)),
      error() {},
      fatal() {},
      child() {
        return logger;
      },
    };
    const w = await startWorld(
      (url) =>
        baseConfig(url, {
          agents: { main: { budget: { daily: 100 } } },
          budgets: { warn_at: 0.5, notify: { platform: "test", chat_id: "admins" } },
        }),
      { logger: logger as never },
    );
    worlds.push(w);
    w.stub.script(
      { text: "a", usage: { promptTokens: 30, completionTokens: 0 } },
      { text: "b", usage: { promptTokens: 30, completionTokens: 0 } },
    );
    await w.chat("u-1", "one");
    expect(warnings.filter((m) => m.startsWith("Budget warning"))).toEqual([]);
    await w.chat("u-1", "two");
    const alert = await w.net.waitForSent((m) => m.chatId === "admins");
    expect(alert.text).toBe("Budget warning: agent:main has used 60% of its daily budget.");
    expect(warnings).toContain("Budget warning: agent:main has used 60% of its daily budget.");
  });
});
