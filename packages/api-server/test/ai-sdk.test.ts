import { createOpenAI } from "@ai-sdk/openai";
import { createOpenAICompatible } from "@ai-sdk/openai-compatible";
import { generateText, Output, stepCountIs, streamText, tool } from "ai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { KEYS } from "./helpers.ts";
import { type StubApi, startStubApi } from "./stub-api.ts";

/** The Vercel AI SDK as the caller: its tool loop and structured output against agents on the stub model. */
describe("AI SDK callers", () => {
  let s: StubApi;
  beforeAll(async () => {
    s = await startStubApi();
  });
  afterAll(async () => {
    await s?.close();
  });

  const compatible = () =>
    createOpenAICompatible({
      name: "switchboard",
      baseURL: s.baseURL,
      apiKey: KEYS.admin,
      supportsStructuredOutputs: true,
    });

  it("runs a multi-step generateText loop with a client tool the SDK executes", async () => {
    s.stub.script(
      { toolCalls: [{ id: "call_ai1", name: "lookup_order", arguments: { order: "A-17" } }] },
      (body) => ({
        text: `Order A-17 is ${String(body.messages.find((m) => m.role === "tool")?.content).replaceAll('"', "")}.`,
      }),
    );
    const executed: unknown[] = [];
    const result = await generateText({
      model: compatible().chatModel("main"),
      prompt: "Where is order A-17?",
      tools: {
        lookup_order: tool({
          description: "Look up an order's status",
          inputSchema: z.object({ order: z.string() }),
          execute: async (input) => {
            executed.push(input);
            return "shipped";
          },
        }),
      },
      stopWhen: stepCountIs(3),
      maxRetries: 0,
    });
    expect(executed).toEqual([{ order: "A-17" }]);
    expect(result.steps).toHaveLength(2);
    expect(result.steps[0]!.finishReason).toBe("tool-calls");
    expect(result.text).toBe("Order A-17 is shipped.");
  });

  it("streams a tool call to streamText through @ai-sdk/openai's chat model", async () => {
    s.stub.script({ toolCalls: [{ id: "call_ai2", name: "lookup_order", arguments: { order: "B-2" } }] });
    const openai = createOpenAI({ baseURL: s.baseURL, apiKey: KEYS.admin });
    const result = streamText({
      model: openai.chat("main"),
      prompt: "Where is order B-2?",
      tools: { lookup_order: tool({ inputSchema: z.object({ order: z.string() }) }) },
      maxRetries: 0,
    });
    const calls = await result.toolCalls;
    expect(calls.map((c) => [c.toolName, c.input])).toEqual([["lookup_order", { order: "B-2" }]]);
    expect(await result.finishReason).toBe("tool-calls");
  });

  it("gets a typed object from generateText with Output.object (the v7 generateObject)", async () => {
    s.stub.script({ text: '{"name":"Ada","born":1815}' });
    const result = await generateText({
      model: compatible().chatModel("bare"),
      prompt: "Who wrote the first program?",
      output: Output.object({ schema: z.object({ name: z.string(), born: z.number() }), name: "person" }),
      temperature: 0.2,
      seed: 7,
      maxRetries: 0,
    });
    expect(result.output).toEqual({ name: "Ada", born: 1815 });
    const sent = s.stub.requests.at(-1)!;
    expect(sent.response_format).toMatchObject({
      type: "json_schema",
      json_schema: { name: "person", schema: { type: "object", required: ["name", "born"] } },
    });
    expect(sent.temperature).toBe(0.2);
    expect(sent.seed).toBe(7);
  });

  it("round-trips a client tool through @ai-sdk/openai's Responses model", async () => {
    s.stub.script(
      { toolCalls: [{ id: "call_ai3", name: "lookup_order", arguments: { order: "C-3" } }] },
      (body) => ({ text: `C-3: ${String(body.messages.find((m) => m.role === "tool")?.content)}` }),
    );
    const openai = createOpenAI({ baseURL: s.baseURL, apiKey: KEYS.admin });
    const result = await generateText({
      model: openai.responses("main"),
      prompt: "Where is order C-3?",
      tools: {
        lookup_order: tool({
          inputSchema: z.object({ order: z.string() }),
          execute: async () => "delivered",
        }),
      },
      stopWhen: stepCountIs(3),
      providerOptions: { openai: { store: false } },
      maxRetries: 0,
    });
    expect(result.text).toBe("C-3: delivered");
  });
});
