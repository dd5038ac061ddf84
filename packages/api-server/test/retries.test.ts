import { ChatOpenAI } from "@langchain/openai";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KEYS, postJson } from "./helpers.ts";
import { type StubApi, startStubApi, storedSessionId } from "./stub-api.ts";

const CHAT = "/v1/chat/completions";

/** Failures answer with statuses that clients' default retry logic reads right, and retries never run a turn twice. */
describe("retries that do not multiply turns", () => {
  let s: StubApi;
  beforeAll(async () => {
    s = await startStubApi({
      providers: { keyed: { kind: "openai", base_url: "http://127.0.0.1:9/v1", api_key_env: "NO_SUCH_KEY" } },
      agents: { nokey: { model: { provider: "keyed", name: "gpt-x" }, toolsets: [] } },
    });
  });
  afterAll(async () => {
    await s?.close();
  });

  /** The openai SDK with its defaults (2 retries), backoff shortened only by the server's answers. */
  const sdk = () => new OpenAI({ apiKey: KEYS.admin, baseURL: s.baseURL, timeout: 20_000 });
  const langchain = (model: string) =>
    new ChatOpenAI({ model, apiKey: KEYS.admin, configuration: { baseURL: s.baseURL } });

  const cases = [
    { name: "a rejected provider key", status: 401, message: "Incorrect API key provided", expected: 403 },
    { name: "an unknown provider model", status: 404, message: "The model does not exist", expected: 404 },
    {
      name: "a context that is too long",
      status: 400,
      message: "This model's maximum context length is 8192 tokens",
      expected: 400,
    },
  ];

  for (const c of cases) {
    it(`answers ${c.name} with ${c.expected} and x-should-retry: false, reaching the provider once`, async () => {
      let count = s.stub.requests.length;
      s.stub.script({ status: c.status, message: c.message });
      const err = await sdk()
        .chat.completions.create({ model: "bare", messages: [{ role: "user", content: `sdk ${c.name}` }] })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OpenAI.APIError);
      expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(c.expected);
      expect((err as InstanceType<typeof OpenAI.APIError>).headers?.get("x-should-retry")).toBe("false");
      expect(s.stub.requests.length - count).toBe(1);

      count = s.stub.requests.length;
      s.stub.script({ status: c.status, message: c.message });
      await expect(langchain("bare").invoke(`langchain ${c.name}`)).rejects.toThrow();
      expect(s.stub.requests.length - count).toBe(1);
    });
  }

  it("answers a missing provider key with 403, not retried", async () => {
    const res = await postJson(
      s.api,
      CHAT,
      { model: "nokey", messages: [{ role: "user", content: "hi" }] },
      { key: KEYS.admin },
    );
    expect(res.status).toBe(403);
    expect(res.headers.get("x-should-retry")).toBe("false");
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe("missing_credentials");
    expect(body.error.message).toContain("NO_SUCH_KEY");
  });

  it("keeps transient upstream failures retryable, with the provider's retry-after", async () => {
    s.stub.script({ status: 429, message: "slow down", headers: { "retry-after": "7" } });
    const limited = await postJson(
      s.api,
      CHAT,
      { model: "bare", messages: [{ role: "user", content: "busy" }] },
      { key: KEYS.admin },
    );
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toBe("7");
    expect(limited.headers.get("x-should-retry")).toBeNull();

    s.stub.script({ status: 503, message: "overloaded", headers: { "retry-after": "3" } });
    const down = await postJson(
      s.api,
      CHAT,
      { model: "bare", messages: [{ role: "user", content: "busy" }] },
      { key: KEYS.admin },
    );
    expect(down.status).toBe(503);
    expect(down.headers.get("retry-after")).toBe("3");
  });

  it("stores a failed turn's user message once, however often the client retries it", async () => {
    const body = { model: "bare", user: "retrier", messages: [{ role: "user", content: "will fail" }] };
    let sessionId = "";
    for (let i = 0; i < 3; i++) {
      s.stub.script({ status: 500, message: "boom" });
      const res = await postJson(s.api, CHAT, body, { key: KEYS.admin });
      expect(res.status).toBe(503);
      sessionId = res.headers.get("x-switchboard-session-id")!;
    }
    await s.api.gateway.idle();
    expect((await s.api.store.history(storedSessionId("bare", sessionId))).map((m) => m.content)).toEqual([
      "will fail",
    ]);
    // And the next success answers it once.
    const ok = await postJson(s.api, CHAT, body, { key: KEYS.admin });
    expect(ok.status).toBe(200);
    await s.api.gateway.idle();
    expect((await s.api.store.history(storedSessionId("bare", sessionId))).map((m) => m.content)).toEqual([
      "will fail",
      "stub: will fail",
    ]);
  });

  it("replays an Idempotency-Key: the same answer, the turn run once", async () => {
    const client = sdk();
    const count = s.stub.requests.length;
    const params = { model: "bare", messages: [{ role: "user" as const, content: "once only" }] };
    const key = (k: string) => ({ headers: { "Idempotency-Key": k } });
    const first = await client.chat.completions.create(params, key("idem-1")).withResponse();
    const again = await client.chat.completions.create(params, key("idem-1")).withResponse();
    expect(again.data.id).toBe(first.data.id);
    expect(again.response.headers.get("idempotency-replayed")).toBe("true");
    expect(s.stub.requests.length - count).toBe(1);

    // A streamed answer replays whole.
    const streamed = async () => {
      const stream = await client.chat.completions.create(
        { ...params, messages: [{ role: "user", content: "stream once" }], stream: true },
        key("idem-2"),
      );
      let text = "";
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? "";
      return text;
    };
    expect(await streamed()).toBe("stub: stream once");
    expect(await streamed()).toBe("stub: stream once");
    expect(s.stub.requests.length - count).toBe(2);

    // The same key with another body is a conflict, not a replay.
    const conflict = await client.chat.completions
      .create({ ...params, messages: [{ role: "user", content: "different" }] }, key("idem-1"))
      .catch((e: unknown) => e);
    expect((conflict as InstanceType<typeof OpenAI.APIError>).status).toBe(409);
    expect(s.stub.requests.length - count).toBe(2);
  });

  it("answers the SDK's own retries of one request from the first attempt when it sends a key", async () => {
    /** The SDK's built-in key: one per request, the same on each of its retries (off unless a client sets the header name). */
    class IdempotentOpenAI extends OpenAI {
      protected override idempotencyHeader = "Idempotency-Key";
    }
    const client = new IdempotentOpenAI({ apiKey: KEYS.admin, baseURL: s.baseURL, maxRetries: 1 });
    const count = s.stub.requests.length;
    s.stub.script({ status: 500, message: "flaky" });
    const err = await client.chat.completions
      .create({ model: "bare", messages: [{ role: "user", content: "side effects once" }] })
      .withResponse()
      .catch((e: unknown) => e);
    expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(503);
    // Two attempts reached the API; the second was the first one's answer, so the model ran once.
    expect((err as InstanceType<typeof OpenAI.APIError>).headers?.get("idempotency-replayed")).toBe("true");
    expect(s.stub.requests.length - count).toBe(1);
  });

  it("lets the openai SDK's own retry of a timed-out request run the turn afresh, not replay the abort", async () => {
    const count = s.stub.requests.length;
    s.stub.script({ text: "too slow", delayMs: 1500 }, { text: "in time" });
    const client = new OpenAI({ apiKey: KEYS.admin, baseURL: s.baseURL, timeout: 500, maxRetries: 1 });
    const res = await client.chat.completions.create({
      model: "bare",
      messages: [{ role: "user", content: "race" }],
    });
    expect(res.choices[0]!.message.content).toBe("in time");
    expect(s.stub.requests.length - count).toBe(2);
  });
});
