import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KEYS, postJson, recordingRunner, startApi, type TestApi } from "./helpers.ts";

let api: TestApi;
const runner = recordingRunner();
beforeAll(async () => {
  api = await startApi(
    { agents: { main: {} }, api_server: { keys: [{ key: KEYS.admin, agents: "*" }] } },
    { runner },
  );
});
afterAll(async () => {
  await api.close();
});

const messages = [{ role: "user", content: "hi" }];

async function errorOf(res: Response) {
  return ((await res.json()) as { error: { param: string | null; code: string | null; type: string } }).error;
}

describe("parameters the API cannot honour", () => {
  it("answers 400 naming the parameter for n > 1, bad max_tokens and temperature outside 0–2", async () => {
    const cases: Array<[string, Record<string, unknown>, string]> = [
      ["/v1/chat/completions", { messages, n: 2 }, "n"],
      ["/v1/chat/completions", { messages, max_tokens: -5 }, "max_tokens"],
      ["/v1/chat/completions", { messages, max_tokens: 10.5 }, "max_tokens"],
      ["/v1/chat/completions", { messages, max_completion_tokens: 0 }, "max_completion_tokens"],
      ["/v1/chat/completions", { messages, temperature: 2.5 }, "temperature"],
      ["/v1/chat/completions", { messages, temperature: -0.1 }, "temperature"],
      ["/v1/responses", { input: "hi", temperature: 3 }, "temperature"],
      ["/v1/responses", { input: "hi", max_output_tokens: -1 }, "max_output_tokens"],
    ];
    const before = runner.turns.length;
    for (const [path, body, param] of cases) {
      const res = await postJson(api, path, body, { key: KEYS.admin });
      expect(res.status, `${path} ${JSON.stringify(body)}`).toBe(400);
      expect(await errorOf(res)).toMatchObject({ param, type: "invalid_request_error" });
    }
    expect(runner.turns.length).toBe(before);
    // The values it can honour still pass.
    const ok = await postJson(
      api,
      "/v1/chat/completions",
      { messages, n: 1, max_tokens: 100, temperature: 0 },
      { key: KEYS.admin },
    );
    expect(ok.status).toBe(200);
  });

  it("the official client sees the 400 as a BadRequestError with param", async () => {
    const client = api.client({ key: KEYS.admin });
    const err = await client.chat.completions
      .create({ model: "main", messages: [{ role: "user", content: "x" }], n: 3 })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 400, param: "n" });
  });

  it("rejects a non-ASCII session id with 400, in the header and in the body", async () => {
    // What a client sending UTF-8 puts on the wire: the bytes, which arrive as Latin-1 characters.
    const utf8AsLatin1 = Buffer.from("café-☕", "utf8").toString("latin1");
    const res = await postJson(
      api,
      "/v1/chat/completions",
      { messages },
      { key: KEYS.admin, headers: { "X-Switchboard-Session-Id": utf8AsLatin1 } },
    );
    expect(res.status).toBe(400);
    expect(await errorOf(res)).toMatchObject({ param: "x-switchboard-session-id", code: "invalid_header" });
    expect(res.headers.get("x-switchboard-session-id")).toBeNull();
    const body = await postJson(api, "/v1/runs", { input: "hi", session_id: "café" }, { key: KEYS.admin });
    expect(body.status).toBe(400);
    expect((await errorOf(body)).param).toBe("session_id");
  });
});
