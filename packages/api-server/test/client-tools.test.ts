import { createAgentRunner } from "@switchboard/agent";
import { type StubLlm, startStubLlm } from "@switchboard/testing";
import type OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KEYS, postJson, startApi, type TestApi } from "./helpers.ts";

const WEATHER: OpenAI.Chat.Completions.ChatCompletionTool = {
  type: "function",
  function: {
    name: "get_weather",
    description: "The weather in a city",
    parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
  },
};

/** Client tools through the real agent runtime and an openai-compatible stub model, called with the `openai` SDK. */
describe("client tools with the openai SDK", () => {
  let stub: StubLlm;
  let api: TestApi;
  beforeAll(async () => {
    stub = await startStubLlm();
    api = await startApi(
      {
        providers: { stub: { kind: "openai-compatible", base_url: stub.url } },
        agents: {
          main: { model: { provider: "stub", name: "stub-model" } },
          lead: { model: { provider: "stub", name: "stub-model" }, delegate_to: ["main"] },
        },
        api_server: { keys: [{ key: KEYS.admin, agents: "*" }] },
      },
      { runner: createAgentRunner({ maxRetries: 0 }) },
    );
  });
  afterAll(async () => {
    await api?.close();
    await stub?.close();
  });

  it("pauses on a client tool call and continues the turn with its result (JSON)", async () => {
    stub.script({ toolCalls: [{ id: "call_w1", name: "get_weather", arguments: { city: "Oslo" } }] });
    const client = api.client({ key: KEYS.admin });
    const messages: OpenAI.Chat.Completions.ChatCompletionMessageParam[] = [
      { role: "user", content: "weather in Oslo?" },
    ];
    const first = await client.chat.completions.create({ model: "main", messages, tools: [WEATHER] });
    const choice = first.choices[0]!;
    expect(choice.finish_reason).toBe("tool_calls");
    expect(choice.message.tool_calls).toEqual([
      { id: "call_w1", type: "function", function: { name: "get_weather", arguments: '{"city":"Oslo"}' } },
    ]);
    // The agent's own tools are offered next to the client's.
    const offered = stub.requests.at(-1)!.tools!.map((t) => t.function.name);
    expect(offered).toContain("get_weather");
    expect(offered).toContain("memory_add");

    stub.script((body) => {
      const result = body.messages.find((m) => m.role === "tool");
      return { text: `It is ${String(result?.content)} in Oslo.` };
    });
    messages.push(choice.message, { role: "tool", tool_call_id: "call_w1", content: "sunny" });
    const second = await client.chat.completions.create({ model: "main", messages, tools: [WEATHER] });
    expect(second.choices[0]!.finish_reason).toBe("stop");
    expect(second.choices[0]!.message.content).toBe("It is sunny in Oslo.");
    const sent = stub.requests.at(-1)!.messages;
    expect(sent.at(-2)).toMatchObject({ role: "assistant", tool_calls: [{ id: "call_w1" }] });
    expect(sent.at(-1)).toMatchObject({ role: "tool", tool_call_id: "call_w1", content: "sunny" });
  });

  it("passes tool_choice to the provider", async () => {
    stub.script({ toolCalls: [{ id: "call_c1", name: "get_weather", arguments: { city: "Quito" } }] });
    const client = api.client({ key: KEYS.admin });
    const res = await client.chat.completions.create({
      model: "main",
      messages: [{ role: "user", content: "weather?" }],
      tools: [WEATHER],
      tool_choice: { type: "function", function: { name: "get_weather" } },
    });
    expect(res.choices[0]!.message.tool_calls?.[0]?.id).toBe("call_c1");
    expect(stub.requests.at(-1)!.tool_choice).toEqual({
      type: "function",
      function: { name: "get_weather" },
    });
  });

  it("streams a client tool call as tool_calls deltas", async () => {
    stub.script({ toolCalls: [{ id: "call_s1", name: "get_weather", arguments: { city: "Rome" } }] });
    const client = api.client({ key: KEYS.admin });
    const stream = await client.chat.completions.create({
      model: "main",
      stream: true,
      messages: [{ role: "user", content: "weather in Rome?" }],
      tools: [WEATHER],
    });
    const calls: OpenAI.Chat.Completions.ChatCompletionChunk.Choice.Delta.ToolCall[] = [];
    let finish: string | null = null;
    for await (const chunk of stream) {
      calls.push(...(chunk.choices[0]?.delta.tool_calls ?? []));
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(finish).toBe("tool_calls");
    expect(calls).toEqual([
      {
        index: 0,
        id: "call_s1",
        type: "function",
        function: { name: "get_weather", arguments: '{"city":"Rome"}' },
      },
    ]);
  });

  it("keeps the agent's own tools server-side: they never come back as tool_calls", async () => {
    stub.script(
      {
        toolCalls: [
          { id: "call_m1", name: "memory_add", arguments: { target: "user", content: "likes tea" } },
        ],
      },
      (body) => ({ text: body.messages.some((m) => m.role === "tool") ? "Noted." : "no tool result" }),
    );
    const client = api.client({ key: KEYS.admin });
    const res = await client.chat.completions.create({
      model: "main",
      messages: [{ role: "user", content: "remember I like tea" }],
      tools: [WEATHER],
    });
    expect(res.choices[0]!.finish_reason).toBe("stop");
    expect(res.choices[0]!.message.tool_calls).toBeUndefined();
    expect(res.choices[0]!.message.content).toBe("Noted.");
  });

  it("refuses a client tool named like an agent tool, naming it", async () => {
    const count = stub.requests.length;
    const res = await postJson(
      api,
      "/v1/chat/completions",
      {
        model: "main",
        messages: [{ role: "user", content: "hi" }],
        tools: [{ type: "function", function: { name: "memory_add", parameters: { type: "object" } } }],
      },
      { key: KEYS.admin },
    );
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { message: string; code: string; param: string } };
    expect(body.error.code).toBe("tool_name_conflict");
    expect(body.error.param).toBe("tools[0].function.name");
    expect(body.error.message).toContain("memory_add");
    expect(stub.requests.length).toBe(count);
  });

  it("refuses a client tool named like the agent's delegate tool", async () => {
    const res = await postJson(
      api,
      "/v1/responses",
      {
        model: "lead",
        input: "hi",
        tools: [{ type: "function", name: "delegate", parameters: { type: "object" } }],
      },
      { key: KEYS.admin },
    );
    expect(res.status).toBe(400);
    // Refused before the turn starts (the API knows the delegate tool), naming the offending parameter.
    expect(((await res.json()) as { error: unknown }).error).toMatchObject({
      code: "tool_name_conflict",
      param: "tools[0].name",
    });
  });

  it("runs openai's runTools loop: the SDK executes the tool, the agent finishes the answer", async () => {
    stub.script(
      { toolCalls: [{ id: "call_r1", name: "get_weather", arguments: { city: "Lima" } }] },
      (body) => ({ text: `Lima: ${String(body.messages.find((m) => m.role === "tool")?.content)}` }),
    );
    const seen: unknown[] = [];
    const client = api.client({ key: KEYS.admin });
    const runner = client.chat.completions.runTools({
      model: "main",
      messages: [{ role: "user", content: "weather in Lima?" }],
      tools: [
        {
          type: "function",
          function: {
            name: "get_weather",
            description: "The weather in a city",
            parameters: WEATHER.function.parameters!,
            parse: JSON.parse,
            function: (args: { city: string }) => {
              seen.push(args);
              return "foggy";
            },
          },
        },
      ],
    });
    expect(await runner.finalContent()).toBe("Lima: foggy");
    expect(seen).toEqual([{ city: "Lima" }]);
  });

  it("returns function_call items from the Responses API and continues with function_call_output", async () => {
    const client = api.client({ key: KEYS.admin });
    const tools: OpenAI.Responses.FunctionTool[] = [
      {
        type: "function",
        name: "get_weather",
        description: "The weather in a city",
        parameters: WEATHER.function.parameters!,
        strict: false,
      },
    ];
    stub.script({ toolCalls: [{ id: "call_x1", name: "get_weather", arguments: { city: "Pune" } }] });
    const first = await client.responses.create({ model: "main", input: "weather in Pune?", tools });
    const call = first.output.find((o) => o.type === "function_call");
    expect(call).toMatchObject({ type: "function_call", call_id: "call_x1", name: "get_weather" });
    expect(JSON.parse((call as OpenAI.Responses.ResponseFunctionToolCall).arguments)).toEqual({
      city: "Pune",
    });

    stub.script((body) => ({
      text: `Pune is ${String(body.messages.find((m) => m.role === "tool")?.content)}`,
    }));
    const second = await client.responses.create({
      model: "main",
      previous_response_id: first.id,
      input: [{ type: "function_call_output", call_id: "call_x1", output: "humid" }],
      tools,
    });
    expect(second.output_text).toBe("Pune is humid");

    // Streamed: the call arrives as a function_call item with its arguments.
    stub.script({ toolCalls: [{ id: "call_x2", name: "get_weather", arguments: { city: "Agra" } }] });
    const stream = await client.responses.create({ model: "main", input: "and Agra?", tools, stream: true });
    const types: string[] = [];
    let done: OpenAI.Responses.Response | undefined;
    for await (const e of stream) {
      types.push(e.type);
      if (e.type === "response.completed") done = e.response;
    }
    expect(types).toContain("response.function_call_arguments.done");
    expect(done?.output).toEqual([
      expect.objectContaining({ type: "function_call", call_id: "call_x2", arguments: '{"city":"Agra"}' }),
    ]);
  });
});
