import type { AgentProfile } from "@switchboard/core";
import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import type { Principal } from "../src/auth.ts";
import type { ApiEnv } from "../src/context.ts";
import { seesAgent } from "../src/select.ts";
import { planSession } from "../src/session.ts";

/** A Hono app whose one route answers what the shared steps decide for the request. */
function app(principal: Principal, pinned?: string) {
  const a = new Hono<ApiEnv>();
  a.use(async (c, next) => {
    c.set("principal", principal);
    c.set("pinned", pinned ? ({ id: pinned } as AgentProfile) : undefined);
    await next();
  });
  a.post("/plan/:agent", async (c) => {
    const body = (await c.req.json()) as { session_id?: string };
    let made = 0;
    const out = planSession(c, c.req.param("agent"), {
      bodyId: body.session_id,
      fallback: () => `made-${++made}`,
    });
    return c.json({ ...out, made });
  });
  a.get("/sees/:agent", (c) => c.json({ sees: seesAgent(c, c.req.param("agent")) }));
  return a;
}

const keyed: Principal = { id: "k1", agents: new Set(["ops", "sales"]) };

describe("the API's shared turn steps", () => {
  it("plans the session from the header, else the body's id, else the fallback; scoped by agent and key", async () => {
    const a = app(keyed);
    const post = async (headers: Record<string, string>, body: object = {}) =>
      (
        await a.request("/plan/ops", { method: "POST", headers, body: JSON.stringify(body) })
      ).json() as Promise<{
        given?: string;
      }>;

    expect(await post({ "x-switchboard-session-id": "s1" }, { session_id: "b1" })).toEqual({
      plan: { publicId: "s1", sessionId: "api:ops:k1:s1", sessionKey: "agent:ops:api_server:session:k1:s1" },
      given: "s1",
      made: 0,
    });
    expect(await post({ "x-hermes-session-id": "s2", "x-switchboard-session-key": "team" })).toEqual({
      plan: { publicId: "s2", sessionId: "api:ops:k1:s2", sessionKey: "agent:ops:api_server:key:k1:team" },
      given: "s2",
      made: 0,
    });
    expect(await post({}, { session_id: "b1" })).toMatchObject({
      plan: { publicId: "b1" },
      given: "b1",
      made: 0,
    });
    const made = await post({});
    expect(made).toMatchObject({ plan: { publicId: "made-1", sessionId: "api:ops:k1:made-1" }, made: 1 });
    expect(made.given).toBeUndefined();
  });

  it("lets a key see what belongs to the agents it may use, and under /agents/{id} only that agent's", async () => {
    const sees = async (a: Hono<ApiEnv>, agent: string) =>
      ((await (await a.request(`/sees/${agent}`)).json()) as { sees: boolean }).sees;
    const open = app(keyed);
    expect(await sees(open, "ops")).toBe(true);
    expect(await sees(open, "hr")).toBe(false);
    const pinned = app(keyed, "sales");
    expect(await sees(pinned, "sales")).toBe(true);
    expect(await sees(pinned, "ops")).toBe(false);
    expect(await sees(app({ id: "open", agents: "*" }), "anything")).toBe(true);
  });
});
