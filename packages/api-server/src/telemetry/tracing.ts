import {
  context,
  ProxyTracerProvider,
  type Span,
  type SpanContext,
  SpanStatusCode,
  type Tracer,
  trace,
} from "@opentelemetry/api";
import { type Facts, onFact } from "@switchboard/core";

/** Spans of finished turns kept for the sends that follow them (platform replies leave after the turn). */
const RECENT_TURNS = 1000;

/** Whether an OpenTelemetry SDK registered a global tracer provider (the API's proxy has a delegate). */
function sdkRegistered(): boolean {
  const provider = trace.getTracerProvider();
  return (
    !(provider instanceof ProxyTracerProvider) || provider.getDelegateTracer("switchboard") !== undefined
  );
}

/**
 * Turn core's facts into OpenTelemetry spans through `@opentelemetry/api` only: a `switchboard.turn` span per
 * turn with children `switchboard.route`, `switchboard.model`, `switchboard.tool` and `switchboard.send`.
 * The operator registers an SDK and exporter before the gateway starts (see docs/operations.md); with none
 * registered and no `tracer` given, nothing subscribes to the facts, so no turn creates a span at all.
 */
export function startTracing(tracer?: Tracer): () => void {
  if (!tracer) {
    if (!sdkRegistered()) return () => {};
    tracer = trace.getTracer("switchboard");
  }
  const t = tracer;
  const turns = new Map<string, Span>();
  const recent = new Map<string, SpanContext>();
  const routes = new Map<string, Facts["route"]>();
  const models = new Map<string, Span>();
  const tools = new Map<string, Span>();

  const parentOf = (turnId: string) => {
    const open = turns.get(turnId);
    if (open) return trace.setSpan(context.active(), open);
    const done = recent.get(turnId);
    return done ? trace.setSpanContext(context.active(), done) : undefined;
  };

  const offs = [
    onFact("route", (f) => {
      routes.set(f.turnId, f);
      if (routes.size > RECENT_TURNS) routes.delete(routes.keys().next().value!);
    }),
    onFact("turn", (f) => {
      if (f.phase === "start") {
        const route = routes.get(f.turnId);
        routes.delete(f.turnId);
        const span = t.startSpan("switchboard.turn", {
          startTime: route ? route.startedAt : f.at,
          attributes: {
            "switchboard.agent": f.agentId,
            "switchboard.platform": f.platform,
            "switchboard.session": f.sessionId,
          },
        });
        if (!span.isRecording()) return;
        turns.set(f.turnId, span);
        if (route) {
          t.startSpan(
            "switchboard.route",
            {
              startTime: route.startedAt,
              attributes: { "switchboard.agent": route.agentId, "switchboard.route.by": route.by },
            },
            trace.setSpan(context.active(), span),
          ).end(route.startedAt + route.durationMs);
        }
        return;
      }
      const span = turns.get(f.turnId);
      if (!span) return;
      turns.delete(f.turnId);
      span.setAttribute("switchboard.outcome", f.outcome);
      if (f.outcome === "error") span.setStatus({ code: SpanStatusCode.ERROR });
      span.end(f.at);
      recent.set(f.turnId, span.spanContext());
      if (recent.size > RECENT_TURNS) recent.delete(recent.keys().next().value!);
    }),
    onFact("model", (f) => {
      if (f.phase === "start") {
        const parent = parentOf(f.turnId);
        if (!parent) return;
        models.set(
          f.turnId,
          t.startSpan(
            "switchboard.model",
            { startTime: f.at, attributes: { "gen_ai.system": f.provider, "gen_ai.request.model": f.model } },
            parent,
          ),
        );
        return;
      }
      const span = models.get(f.turnId);
      if (!span) return;
      models.delete(f.turnId);
      span.setAttributes({
        "gen_ai.usage.input_tokens": f.inputTokens,
        "gen_ai.usage.output_tokens": f.outputTokens,
        "switchboard.cost_usd": f.costUsd,
      });
      if (f.error) span.setStatus({ code: SpanStatusCode.ERROR, message: f.error });
      span.end(f.at);
    }),
    onFact("tool", (f) => {
      const key = `${f.turnId}\u0000${f.toolCallId}`;
      if (f.phase === "start") {
        const parent = parentOf(f.turnId);
        if (!parent) return;
        tools.set(
          key,
          t.startSpan(
            "switchboard.tool",
            { startTime: f.at, attributes: { "switchboard.tool": f.toolName } },
            parent,
          ),
        );
        return;
      }
      const span = tools.get(key);
      if (!span) return;
      tools.delete(key);
      if (f.isError) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end(f.at);
    }),
    onFact("send", (f) => {
      const parent = f.turnId ? parentOf(f.turnId) : undefined;
      if (!parent) return;
      const span = t.startSpan(
        "switchboard.send",
        {
          startTime: f.startedAt,
          attributes: {
            "switchboard.platform": f.platform,
            "switchboard.account": f.account,
            "switchboard.send.retries": f.retries,
          },
        },
        parent,
      );
      if (!f.ok) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end(f.startedAt + f.durationMs);
    }),
  ];
  return () => {
    for (const off of offs) off();
  };
}
