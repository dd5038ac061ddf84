import { readFileSync } from "node:fs";
import { Ajv2020 } from "ajv/dist/2020.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KEYS, postJson, readSse } from "./helpers.ts";
import { type StubApi, startStubApi } from "./stub-api.ts";

const SPEC = JSON.parse(
  readFileSync(new URL("./fixtures/openai-responses.openapi.json", import.meta.url), "utf8"),
) as { components: { schemas: Record<string, unknown> } };

/** Every component schema under its spec `$ref`, so references resolve as in the OpenAPI document. */
function validator() {
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
  ajv.addSchema({ $id: "openapi", components: SPEC.components });
  return (name: string, value: unknown) => {
    const validate = ajv.getSchema(`openapi#/components/schemas/${name}`);
    if (!validate) throw new Error(`no schema ${name} in the fixture`);
    const ok = validate(value);
    return ok ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
  };
}

/** The spec's schema of each streaming event type. */
const EVENT_SCHEMAS: Record<string, string> = {
  "response.created": "ResponseCreatedEvent",
  "response.in_progress": "ResponseInProgressEvent",
  "response.output_item.added": "ResponseOutputItemAddedEvent",
  "response.output_item.done": "ResponseOutputItemDoneEvent",
  "response.content_part.added": "ResponseContentPartAddedEvent",
  "response.content_part.done": "ResponseContentPartDoneEvent",
  "response.output_text.delta": "ResponseTextDeltaEvent",
  "response.output_text.done": "ResponseTextDoneEvent",
  "response.function_call_arguments.delta": "ResponseFunctionCallArgumentsDeltaEvent",
  "response.function_call_arguments.done": "ResponseFunctionCallArgumentsDoneEvent",
  "response.completed": "ResponseCompletedEvent",
  "response.failed": "ResponseFailedEvent",
};

const TOOL = {
  type: "function",
  name: "get_weather",
  description: "The weather in a city",
  parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
  strict: false,
};

/** The Responses API checked against OpenAI's published OpenAPI schema (a trimmed copy in `fixtures/`). */
describe("Responses API against the OpenAPI spec", () => {
  let s: StubApi;
  const check = validator();
  beforeAll(async () => {
    s = await startStubApi();
  });
  afterAll(async () => {
    await s?.close();
  });

  const post = (body: Record<string, unknown>) =>
    postJson(s.api, "/v1/responses", { model: "main", ...body }, { key: KEYS.admin });

  it("answers a text response and a function call response that match the spec's Response", async () => {
    const text = (await (await post({ input: "hello" })).json()) as Record<string, any>;
    expect(check("Response", text)).toEqual([]);
    expect(text.output[0].content[0].logprobs).toEqual([]);
    expect(text.usage.input_tokens_details).toEqual({ cached_tokens: 0, cache_write_tokens: 0 });
    expect(text.usage.output_tokens_details).toEqual({ reasoning_tokens: 0 });
    // The schema has teeth: the shapes this server used to send are refused.
    const old = structuredClone(text);
    delete old.output[0].content[0].logprobs;
    old.usage.input_tokens_details = { cached_tokens: 0 };
    old.usage = { ...old.usage };
    expect(check("Response", old).length).toBeGreaterThan(0);
    expect(check("Response", { ...text, usage: null })).not.toEqual([]);

    s.stub.script({ toolCalls: [{ id: "call_sp1", name: "get_weather", arguments: { city: "Oslo" } }] });
    const call = (await (await post({ input: "weather?", tools: [TOOL] })).json()) as Record<string, any>;
    expect(check("Response", call)).toEqual([]);
    expect(call.output.map((o: { type: string }) => o.type)).toEqual(["function_call"]);
    expect(call.tools[0]).toMatchObject({ type: "function", name: "get_weather" });
  });

  it("streams events that each match their spec schema, text and function calls alike", async () => {
    for (const script of [
      { text: "streamed words here" },
      { toolCalls: [{ id: "call_sp2", name: "get_weather", arguments: { city: "Rome" } }] },
    ]) {
      s.stub.script(script);
      const frames = await readSse(await post({ input: "go", stream: true, tools: [TOOL] }));
      let seq = -1;
      for (const f of frames) {
        const event = JSON.parse(f.data) as { type: string; sequence_number: number };
        const schema = EVENT_SCHEMAS[event.type];
        expect(schema, event.type).toBeDefined();
        expect(check(schema!, event), event.type).toEqual([]);
        expect(event.sequence_number).toBe(seq + 1);
        seq = event.sequence_number;
      }
      expect(JSON.parse(frames.at(-1)!.data).type).toBe("response.completed");
    }
  });

  it("fails with a response.failed whose error code is one of the spec's", async () => {
    s.stub.script({ status: 401, message: "bad key" });
    const frames = await readSse(await post({ input: "fail", stream: true }));
    const failed = JSON.parse(frames.at(-1)!.data) as { type: string; response: { error: { code: string } } };
    expect(failed.type).toBe("response.failed");
    expect(check("ResponseFailedEvent", failed)).toEqual([]);
    s.stub.script({ status: 429, message: "slow" });
    const limited = JSON.parse((await readSse(await post({ input: "fail", stream: true }))).at(-1)!.data);
    expect(limited.response.error.code).toBe("rate_limit_exceeded");
  });

  it("lists a response's input items, and honours store: false", async () => {
    s.stub.script({ toolCalls: [{ id: "call_sp3", name: "get_weather", arguments: { city: "Bern" } }] });
    const first = (await (
      await post({ input: [{ role: "user", content: "weather in Bern?" }], tools: [TOOL] })
    ).json()) as { id: string };
    const second = (await (
      await post({
        previous_response_id: first.id,
        input: [{ type: "function_call_output", call_id: "call_sp3", output: "mild" }],
        tools: [TOOL],
      })
    ).json()) as { id: string };
    const res = await s.api.request(`/v1/responses/${second.id}/input_items?order=asc`, { key: KEYS.admin });
    expect(res.status).toBe(200);
    const list = (await res.json()) as { data: Array<Record<string, unknown>> };
    expect(check("ResponseItemList", list)).toEqual([]);
    expect(list.data).toEqual([
      expect.objectContaining({ type: "function_call_output", call_id: "call_sp3", output: "mild" }),
    ]);
    const firstItems = (await (
      await s.api.request(`/v1/responses/${first.id}/input_items`, { key: KEYS.admin })
    ).json()) as { data: Array<Record<string, unknown>> };
    expect(firstItems.data).toEqual([
      expect.objectContaining({
        type: "message",
        role: "user",
        content: [{ type: "input_text", text: "weather in Bern?" }],
      }),
    ]);

    const unstored = (await (await post({ input: "forget me", store: false })).json()) as {
      id: string;
      store: boolean;
    };
    expect(unstored.store).toBe(false);
    expect((await s.api.request(`/v1/responses/${unstored.id}`, { key: KEYS.admin })).status).toBe(404);
    expect(
      (await s.api.request(`/v1/responses/${unstored.id}/input_items`, { key: KEYS.admin })).status,
    ).toBe(404);
  });
});
