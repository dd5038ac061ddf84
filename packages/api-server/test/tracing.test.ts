import { channel } from "node:diagnostics_channel";
import { trace } from "@opentelemetry/api";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { afterEach, describe, expect, it } from "vitest";
import { startTracing } from "../src/index.ts";
import { baseConfig, startWorld, type World } from "./operate-world.ts";

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

function tree(spans: readonly ReadableSpan[], root: ReadableSpan): unknown {
  const children = spans
    .filter((s) => s.parentSpanContext?.spanId === root.spanContext().spanId)
    .sort((a, b) => a.startTime[0] - b.startTime[0] || a.startTime[1] - b.startTime[1]);
  return { [root.name]: children.map((c) => tree(spans, c)) };
}

describe("OpenTelemetry traces", () => {
  it("exports a span per turn with routing, model, tool and send children through an in-memory exporter", async () => {
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const stop = startTracing(provider.getTracer("test"));
    const w: World = await startWorld((url) =>
      baseConfig(url, { agents: { main: { toolsets: ["skills"] } } }),
    );
    cleanups.push(
      () => w.close(),
      stop,
      () => provider.shutdown(),
    );
    w.stub.script(
      {
        toolCalls: [{ name: "skills_list", arguments: {} }],
        usage: { promptTokens: 10, completionTokens: 2 },
      },
      { text: "done", usage: { promptTokens: 20, completionTokens: 3 } },
    );
    expect(await w.chat("u1", "list your skills")).toBe("done");
    await w.gateway.idle();

    const spans = exporter.getFinishedSpans();
    const turns = spans.filter((s) => s.name === "switchboard.turn");
    expect(turns).toHaveLength(1);
    const turn = turns[0]!;
    expect(turn.parentSpanContext).toBeUndefined();
    expect(turn.attributes).toMatchObject({
      "switchboard.agent": "main",
      "switchboard.platform": "test",
      "switchboard.outcome": "ok",
    });
    expect(tree(spans, turn)).toEqual({
      "switchboard.turn": [
        { "switchboard.route": [] },
        { "switchboard.model": [] },
        { "switchboard.tool": [] },
        { "switchboard.send": [] },
      ],
    });
    const model = spans.find((s) => s.name === "switchboard.model")!;
    expect(model.attributes).toMatchObject({
      "gen_ai.request.model": "stub-model",
      "gen_ai.usage.input_tokens": 30,
      "gen_ai.usage.output_tokens": 5,
    });
    expect(spans.find((s) => s.name === "switchboard.tool")!.attributes["switchboard.tool"]).toBe(
      "skills_list",
    );
    expect(new Set(spans.map((s) => s.spanContext().traceId)).size).toBe(1);
  });

  it("creates no spans and subscribes to no facts when no SDK is registered", () => {
    const turnFacts = channel("switchboard:turn");
    expect(turnFacts.hasSubscribers).toBe(false);
    const stop = startTracing();
    cleanups.push(stop);
    expect(turnFacts.hasSubscribers).toBe(false);
  });

  it("traces through the globally registered SDK when one is registered before it starts", async () => {
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    expect(trace.setGlobalTracerProvider(provider)).toBe(true);
    cleanups.push(() => trace.disable());
    const stop = startTracing();
    const w: World = await startWorld((url) => baseConfig(url));
    cleanups.push(
      () => w.close(),
      stop,
      () => provider.shutdown(),
    );
    w.stub.script({ text: "hi", usage: { promptTokens: 3, completionTokens: 1 } });
    expect(await w.chat("u1", "hello")).toBe("hi");
    await w.gateway.idle();
    expect(exporter.getFinishedSpans().filter((s) => s.name === "switchboard.turn")).toHaveLength(1);
  });
});
