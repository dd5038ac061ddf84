import { HumanMessage, ToolMessage } from "@langchain/core/messages";
import { ChatOpenAI } from "@langchain/openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { KEYS } from "./helpers.ts";
import { type StubApi, startStubApi } from "./stub-api.ts";

/** LangChain's ChatOpenAI as the caller, with its default retry policy. */
describe("LangChain callers", () => {
  let s: StubApi;
  beforeAll(async () => {
    s = await startStubApi();
  });
  afterAll(async () => {
    await s?.close();
  });

  const chat = (model = "main") =>
    new ChatOpenAI({ model, apiKey: KEYS.admin, configuration: { baseURL: s.baseURL }, temperature: 0.3 });

  it("round-trips a bound tool: tool_calls out, a ToolMessage back in", async () => {
    const weather = {
      type: "function" as const,
      function: {
        name: "get_weather",
        description: "The weather in a city",
        parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
      },
    };
    s.stub.script({ toolCalls: [{ id: "call_lc1", name: "get_weather", arguments: { city: "Kyiv" } }] });
    const model = chat().bindTools([weather]);
    const question = new HumanMessage("weather in Kyiv?");
    const ai = await model.invoke([question]);
    expect(ai.tool_calls).toEqual([
      expect.objectContaining({ id: "call_lc1", name: "get_weather", args: { city: "Kyiv" } }),
    ]);
    s.stub.script((body) => ({
      text: `Kyiv: ${String(body.messages.find((m) => m.role === "tool")?.content)}`,
    }));
    const answer = await model.invoke([
      question,
      ai,
      new ToolMessage({ tool_call_id: "call_lc1", content: "snow" }),
    ]);
    expect(answer.content).toBe("Kyiv: snow");
    expect(s.stub.requests.at(-1)!.temperature).toBe(0.3);
  });

  it("gets structured output from withStructuredOutput", async () => {
    // LangChain picks its method (json_schema or a forced tool call); the stub answers either way.
    s.stub.script((body) => {
      const forced = body.tools?.[0]?.function.name;
      return body.response_format || !forced
        ? { text: '{"city":"Oslo","celsius":4}' }
        : { toolCalls: [{ name: forced, arguments: { city: "Oslo", celsius: 4 } }] };
    });
    const structured = chat("bare").withStructuredOutput(
      z.object({ city: z.string(), celsius: z.number() }),
      { name: "reading" },
    );
    expect(await structured.invoke("Temperature in Oslo?")).toEqual({ city: "Oslo", celsius: 4 });
  });
});
