import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import type { ApiEnv } from "../src/context.ts";
import { ApiError } from "../src/errors.ts";
import { IdempotencyCache, type IdempotencyOptions } from "../src/idempotency.ts";

/** The idempotency memory's bounds, through a small Hono app whose handler counts its runs. */
function app(options: IdempotencyOptions) {
  const cache = new IdempotencyCache(options);
  const runs: string[] = [];
  const a = new Hono<ApiEnv>();
  a.onError((err) =>
    err instanceof ApiError
      ? Response.json(err.body(), { status: err.status })
      : new Response("x", { status: 500 }),
  );
  a.use("*", async (c, next) => {
    c.set("principal", { id: c.req.header("x-principal") ?? "p1", agents: "*" });
    await next();
  });
  a.use(
    "*",
    cache.middleware(() => 1_000_000),
  );
  a.post("/v1/:what", async (c) => {
    const body = await c.req.text();
    runs.push(body);
    if (c.req.query("wait")) await new Promise((r) => setTimeout(r, 50));
    return c.json({ run: runs.length, body: body.repeat(Number(c.req.query("times") ?? 1)) });
  });
  /** A POST read to its end, as an HTTP server would send it (a kept answer is complete only then). */
  const post = async (key: string, body: string, path = "/v1/chat", principal = "p1") => {
    const res = await a.request(path, {
      method: "POST",
      body,
      headers: { "Idempotency-Key": key, "x-principal": principal },
    });
    return { status: res.status, json: JSON.parse(await res.text()) as unknown };
  };
  return { cache, runs, post };
}

describe("Idempotency-Key memory", () => {
  it("runs once for concurrent repeats, and scopes keys per caller and path", async () => {
    const { runs, post } = app({});
    const [a, b] = await Promise.all([post("k", "x", "/v1/chat?wait=1"), post("k", "x", "/v1/chat?wait=1")]);
    expect(a.json).toEqual(b.json);
    expect(runs).toHaveLength(1);
    await post("k", "x", "/v1/chat?wait=1", "p2");
    await post("k", "x", "/v1/responses");
    expect(runs).toHaveLength(3);
  });

  it("forgets keys after their window: ten minutes, a day for runs", async () => {
    let now = 0;
    const { runs, post } = app({ now: () => now });
    await post("k", "x");
    await post("r", "x", "/v1/runs");
    now = 10 * 60 * 1000 - 1;
    await post("k", "x");
    expect(runs).toHaveLength(2);
    now = 10 * 60 * 1000;
    await post("k", "x");
    await post("r", "x", "/v1/runs");
    expect(runs).toHaveLength(3);
    now = 24 * 60 * 60 * 1000;
    await post("r", "x", "/v1/runs");
    expect(runs).toHaveLength(4);
  });

  it("drops the oldest keys past the key and byte caps", async () => {
    const { runs, post, cache } = app({ maxKeys: 2 });
    for (const k of ["a", "b", "c"]) await post(k, "x");
    expect(cache.size).toBe(2);
    await post("a", "x");
    expect(runs).toHaveLength(4);

    const big = app({ maxTotalBytes: 3000 });
    await big.post("a", "y", "/v1/chat?times=1000");
    await big.post("b", "y", "/v1/chat?times=1000");
    await big.post("c", "y", "/v1/chat?times=1000");
    await big.post("c", "y", "/v1/chat?times=1000");
    expect(big.runs).toHaveLength(3);
    await big.post("a", "y", "/v1/chat?times=1000");
    expect(big.runs).toHaveLength(4);
  });

  it("refuses a malformed key and a reused key with another body", async () => {
    const { post } = app({});
    expect((await post("has space", "x")).status).toBe(400);
    expect((await post("x".repeat(256), "x")).status).toBe(400);
    await post("k", "one");
    const conflict = await post("k", "two");
    expect(conflict.status).toBe(409);
    expect((conflict.json as { error: { code: string } }).error.code).toBe("idempotency_key_conflict");
  });
});
