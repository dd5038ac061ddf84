import { zodResponseFormat } from "openai/helpers/zod";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { KEYS } from "./helpers.ts";
import { type StubApi, startStubApi } from "./stub-api.ts";

/** `response_format` and the sampling fields reach the provider: observed in the stub model's request bodies. */
describe("structured output and sampling fields", () => {
  let s: StubApi;
  beforeAll(async () => {
    s = await startStubApi();
  });
  afterAll(async () => {
    await s?.close();
  });

  it("parses a json_schema answer with the openai SDK's parse()", async () => {
    const Event = z.object({ title: z.string(), attendees: z.array(z.string()) });
    s.stub.script({ json: { title: "standup", attendees: ["ana", "bo"] } });
    const client = s.api.client({ key: KEYS.admin });
    const completion = await client.chat.completions.parse({
      model: "main",
      messages: [{ role: "user", content: "standup with ana and bo" }],
      response_format: zodResponseFormat(Event, "event"),
    });
    expect(completion.choices[0]!.message.parsed).toEqual({ title: "standup", attendees: ["ana", "bo"] });
    expect(s.stub.requests.at(-1)!.response_format).toMatchObject({
      type: "json_schema",
      json_schema: { name: "event", schema: { type: "object", required: ["title", "attendees"] } },
    });
  });

  it("passes json_object through, and Responses text.format too", async () => {
    const client = s.api.client({ key: KEYS.admin });
    s.stub.script({ json: { ok: true } });
    const r = await client.chat.completions.create({
      model: "bare",
      messages: [{ role: "user", content: "json please" }],
      response_format: { type: "json_object" },
    });
    expect(JSON.parse(r.choices[0]!.message.content!)).toEqual({ ok: true });
    expect(s.stub.requests.at(-1)!.response_format).toEqual({ type: "json_object" });

    s.stub.script({ json: { n: 3 } });
    const parsed = await client.responses.parse({
      model: "bare",
      input: "a number",
      text: {
        format: {
          type: "json_schema",
          name: "num",
          strict: true,
          schema: {
            type: "object",
            properties: { n: { type: "number" } },
            required: ["n"],
            additionalProperties: false,
          },
        },
      },
    });
    expect(parsed.output_parsed).toEqual({ n: 3 });
    expect(s.stub.requests.at(-1)!.response_format).toMatchObject({
      type: "json_schema",
      json_schema: { name: "num" },
    });
  });

  it("hands every sampling field to the provider", async () => {
    const client = s.api.client({ key: KEYS.admin });
    await client.chat.completions.create({
      model: "bare",
      messages: [{ role: "user", content: "sample" }],
      temperature: 0.4,
      top_p: 0.9,
      max_completion_tokens: 77,
      stop: ["END"],
      seed: 42,
      presence_penalty: 0.5,
      frequency_penalty: 0.25,
    });
    expect(s.stub.requests.at(-1)).toMatchObject({
      temperature: 0.4,
      top_p: 0.9,
      max_tokens: 77,
      stop: ["END"],
      seed: 42,
      presence_penalty: 0.5,
      frequency_penalty: 0.25,
    });
    // `max_tokens` (the older spelling) and a single `stop` string work the same.
    await client.chat.completions.create({
      model: "bare",
      messages: [{ role: "user", content: "sample" }],
      max_tokens: 12,
      stop: "STOP",
    });
    expect(s.stub.requests.at(-1)).toMatchObject({ max_tokens: 12, stop: ["STOP"] });
    // The Responses API's spelling.
    await client.responses.create({
      model: "bare",
      input: "sample",
      temperature: 1.5,
      max_output_tokens: 33,
      top_p: 0.5,
    });
    expect(s.stub.requests.at(-1)).toMatchObject({ temperature: 1.5, max_tokens: 33, top_p: 0.5 });
  });

  it("keeps the agent's own settings when the request sets none", async () => {
    const client = s.api.client({ key: KEYS.admin });
    await client.chat.completions.create({
      model: "bare",
      messages: [{ role: "user", content: "defaults" }],
    });
    const sent = s.stub.requests.at(-1)!;
    expect(sent.temperature).toBeUndefined();
    expect(sent.response_format).toBeUndefined();
    expect(sent.seed).toBeUndefined();
  });
});
