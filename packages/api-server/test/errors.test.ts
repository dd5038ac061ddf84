import { request as httpRequest } from "node:http";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KEYS, postJson, startApi, type TestApi } from "./helpers.ts";

const CONFIG = {
  agents: { main: {}, support: {}, secret: {} },
  api_server: {
    keys: [
      { key: KEYS.admin, agents: "*" },
      { key: KEYS.webui, name: "webui", agents: ["main", "support"] },
    ],
    max_body_bytes: 4096,
  },
};
const CHAT = "/v1/chat/completions";
const hi = { model: "main", messages: [{ role: "user" as const, content: "hi" }] };

async function errorOf(res: Response) {
  const body = (await res.json()) as {
    error: { message: string; type: string; param: string | null; code: string | null };
  };
  expect(Object.keys(body)).toEqual(["error"]);
  expect(Object.keys(body.error).sort()).toEqual(["code", "message", "param", "type"]);
  return body.error;
}

/** Headers that may differ between two otherwise identical responses. */
const VOLATILE = new Set(["date", "keep-alive", "connection"]);
const stableHeaders = (res: Response) => [...res.headers].filter(([k]) => !VOLATILE.has(k));

describe("bad input", () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startApi(CONFIG);
  });
  afterAll(async () => {
    await api.close();
  });

  it("answers 401 without a key and with a wrong key, through the openai client too", async () => {
    const none = await postJson(api, CHAT, hi);
    expect(none.status).toBe(401);
    expect(await errorOf(none)).toMatchObject({ code: "invalid_api_key", type: "invalid_request_error" });
    const wrong = await postJson(api, CHAT, hi, { key: "sk-wrong-0123456789" });
    expect(wrong.status).toBe(401);
    expect((await errorOf(wrong)).code).toBe("invalid_api_key");
    const malformed = await api.request("/v1/models", { headers: { authorization: "Basic abc" } });
    expect(malformed.status).toBe(401);
    await expect(api.client({ key: "sk-wrong-0123456789" }).models.list()).rejects.toBeInstanceOf(
      OpenAI.AuthenticationError,
    );
  });

  it("answers a disallowed agent exactly like a nonexistent one (models, path prefix)", async () => {
    const pairs: Array<[string, string]> = [
      ["/v1/models/secret", "/v1/models/absent"],
      ["/agents/secret/v1/models", "/agents/absent/v1/models"],
    ];
    for (const [disallowed, missing] of pairs) {
      const a = await api.request(disallowed, { key: KEYS.webui });
      const b = await api.request(missing, { key: KEYS.webui });
      expect(a.status).toBe(404);
      expect(b.status).toBe(404);
      expect(stableHeaders(a)).toEqual(stableHeaders(b));
      const textA = await a.text();
      const textB = await b.text();
      // Byte-identical once the name the caller typed is swapped (the names are the same length).
      expect(textA.replaceAll("secret", "absent")).toBe(textB);
      expect(JSON.parse(textA).error.code).toBe("model_not_found");
    }
    // The admin key does see it: the 404 above really was the allowlist.
    expect((await api.request("/v1/models/secret", { key: KEYS.admin })).status).toBe(200);
    const viaClient = api.client({ key: KEYS.webui, agent: "secret" }).chat.completions.create(hi);
    await expect(viaClient).rejects.toBeInstanceOf(OpenAI.NotFoundError);
  });

  it("falls through a disallowed model to routing exactly as it does for a nonexistent one", async () => {
    const a = await postJson(api, CHAT, { ...hi, model: "secret" }, { key: KEYS.webui });
    const b = await postJson(api, CHAT, { ...hi, model: "absent" }, { key: KEYS.webui });
    expect(a.headers.get("x-switchboard-agent")).toBe("main");
    expect(b.headers.get("x-switchboard-agent")).toBe("main");
    expect(((await a.json()) as any).choices[0].message.content).toBe("[main] hi");
    expect(((await b.json()) as any).choices[0].message.content).toBe("[main] hi");
  });

  it("answers 400 for malformed JSON", async () => {
    const res = await api.request(CHAT, {
      method: "POST",
      key: KEYS.admin,
      headers: { "content-type": "application/json" },
      body: '{"model": "main", "messages": [',
    });
    expect(res.status).toBe(400);
    expect((await errorOf(res)).code).toBe("invalid_json");
    const notObject = await api.request(CHAT, {
      method: "POST",
      key: KEYS.admin,
      headers: { "content-type": "application/json" },
      body: "[1,2]",
    });
    expect(notObject.status).toBe(400);
  });

  it("answers 400 naming the field for schema violations", async () => {
    const cases: Array<[unknown, string]> = [
      [{ model: "main", messages: [{ role: "bot", content: "x" }] }, "messages[0].role"],
      [{ model: "main" }, "messages"],
      [{ model: "main", messages: [] }, "messages"],
      [
        { model: "main", messages: [{ role: "user", content: [{ type: "input_audio", input_audio: {} }] }] },
        "messages[0].content[0].type",
      ],
      [
        { model: "main", messages: [{ role: "user", content: [{ type: "text" }] }] },
        "messages[0].content[0].text",
      ],
      [
        {
          model: "main",
          messages: [
            { role: "user", content: [{ type: "image_url", image_url: { url: "file:///etc/passwd" } }] },
          ],
        },
        "messages[0].content[0].image_url.url",
      ],
      [{ model: "main", messages: [{ role: "user", content: "x" }], stream: "yes" }, "stream"],
      [
        {
          model: "main",
          messages: [
            { role: "user", content: "x" },
            { role: "assistant", content: "y" },
          ],
        },
        "messages[1].role",
      ],
    ];
    for (const [body, param] of cases) {
      const res = await postJson(api, CHAT, body, { key: KEYS.admin });
      expect(res.status, JSON.stringify(body)).toBe(400);
      const err = await errorOf(res);
      expect(err.param, JSON.stringify(body)).toBe(param);
      expect(err.type).toBe("invalid_request_error");
    }
    const responses = await postJson(
      api,
      "/v1/responses",
      { model: "main", input: [{ role: "robot", content: "x" }] },
      { key: KEYS.admin },
    );
    expect((await errorOf(responses)).param).toBe("input[0].role");
    const client = api.client({ key: KEYS.admin });
    await expect(
      client.chat.completions.create({ model: "main", messages: [{ role: "bot" as "user", content: "x" }] }),
    ).rejects.toBeInstanceOf(OpenAI.BadRequestError);
  });

  it("answers 400 for X-Switchboard-* header values over 256 characters or with control characters", async () => {
    const long = await postJson(api, CHAT, hi, {
      key: KEYS.admin,
      headers: { "X-Switchboard-Session-Id": "a".repeat(257) },
    });
    expect(long.status).toBe(400);
    expect(await errorOf(long)).toMatchObject({ code: "invalid_header", param: "x-switchboard-session-id" });
    const exactly = await postJson(api, CHAT, hi, {
      key: KEYS.admin,
      headers: { "X-Switchboard-Chat-Id": "a".repeat(256) },
    });
    expect(exactly.status).toBe(200);
    // A tab survives HTTP parsing; the server must still refuse it in an id.
    const tab = await postJson(api, CHAT, hi, {
      key: KEYS.admin,
      headers: { "X-Switchboard-User-Id": "a\tb" },
    });
    expect(tab.status).toBe(400);
    expect((await errorOf(tab)).param).toBe("x-switchboard-user-id");
    // Control characters node's HTTP parser would reject reach an embedded app.fetch unfiltered.
    for (const value of ["a\u0001b", "a\u007fb", "x\u001bthread"]) {
      const res = await api.api.fetch(
        new Request("http://localhost/v1/chat/completions", {
          method: "POST",
          headers: {
            authorization: `Bearer ${KEYS.admin}`,
            "content-type": "application/json",
            "x-switchboard-thread-id": value,
          },
          body: JSON.stringify(hi),
        }),
      );
      expect(res.status, JSON.stringify(value)).toBe(400);
      expect((await errorOf(res)).param).toBe("x-switchboard-thread-id");
    }
  });

  it("answers 413 for a body over max_body_bytes, by Content-Length and by streamed size", async () => {
    const big = { ...hi, messages: [{ role: "user", content: "x".repeat(5000) }] };
    const declared = await postJson(api, CHAT, big, { key: KEYS.admin });
    expect(declared.status).toBe(413);
    expect((await errorOf(declared)).code).toBe("request_too_large");
    // Chunked: no Content-Length, so the cap must hold while reading.
    const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const u = new URL(`${api.url}${CHAT}`);
      const req = httpRequest(
        {
          host: u.hostname,
          port: u.port,
          path: u.pathname,
          method: "POST",
          headers: {
            authorization: `Bearer ${KEYS.admin}`,
            "content-type": "application/json",
            "transfer-encoding": "chunked",
          },
        },
        (res) => {
          let text = "";
          res.on("data", (d) => (text += d));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
        },
      );
      req.on("error", reject);
      const piece = JSON.stringify(big);
      req.write(piece.slice(0, 2000));
      req.write(piece.slice(2000));
      req.end();
    });
    expect(status).toBe(413);
    expect(JSON.parse(body).error.code).toBe("request_too_large");
  });

  it("answers 413 to an over-size streamed body with an Idempotency-Key before the body ends", async () => {
    const big = JSON.stringify({ ...hi, messages: [{ role: "user", content: "x".repeat(5000) }] });
    // The body is never finished: only a reader that stops at the cap can answer at all.
    const status = await new Promise<number>((resolve, reject) => {
      const u = new URL(`${api.url}${CHAT}`);
      const req = httpRequest(
        {
          host: u.hostname,
          port: u.port,
          path: u.pathname,
          method: "POST",
          headers: {
            authorization: `Bearer ${KEYS.admin}`,
            "content-type": "application/json",
            "transfer-encoding": "chunked",
            "idempotency-key": "big-body-1",
          },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
          req.destroy();
        },
      );
      req.on("error", (err) =>
        (err as NodeJS.ErrnoException).code === "ECONNRESET" ? undefined : reject(err),
      );
      req.write(big);
      setTimeout(() => {
        req.destroy();
        resolve(0);
      }, 3000).unref();
    });
    expect(status).toBe(413);
  });

  it("answers 404 for an unknown route and 405 for a wrong method", async () => {
    const unknown = await api.request("/v1/embeddings", { method: "POST", key: KEYS.admin });
    expect(unknown.status).toBe(404);
    expect((await errorOf(unknown)).type).toBe("invalid_request_error");
    const root = await api.request("/nope", { key: KEYS.admin });
    expect(root.status).toBe(404);
    const wrong = await api.request(CHAT, { method: "GET", key: KEYS.admin });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get("allow")).toBe("POST");
    expect((await errorOf(wrong)).code).toBe("method_not_allowed");
    const models = await api.request("/v1/models", { method: "DELETE", key: KEYS.admin });
    expect(models.status).toBe(405);
    const pinned = await api.request("/agents/main/v1/chat/completions", { method: "PUT", key: KEYS.admin });
    expect(pinned.status).toBe(405);
  });
});

describe("strict models", () => {
  it("answers 404 model_not_found for a model naming no usable agent, identically for disallowed and missing", async () => {
    const api = await startApi({ ...CONFIG, api_server: { ...CONFIG.api_server, strict_models: true } });
    try {
      const a = await postJson(api, CHAT, { ...hi, model: "secret" }, { key: KEYS.webui });
      const b = await postJson(api, CHAT, { ...hi, model: "absent" }, { key: KEYS.webui });
      expect(a.status).toBe(404);
      expect(b.status).toBe(404);
      expect(stableHeaders(a)).toEqual(stableHeaders(b));
      expect((await a.text()).replaceAll("secret", "absent")).toBe(await b.text());
      const ok = await postJson(api, CHAT, { ...hi, model: "switchboard/support" }, { key: KEYS.webui });
      expect(ok.status).toBe(200);
      await expect(
        api.client({ key: KEYS.webui }).chat.completions.create({ ...hi, model: "secret" } as never),
      ).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    } finally {
      await api.close();
    }
  });
});
