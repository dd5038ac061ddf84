import { readFileSync } from "node:fs";
import { join } from "node:path";
import parsePrometheusTextFormat, { type PromFamily } from "parse-prometheus-text-format";
import { afterEach, describe, expect, it } from "vitest";
import { ADMIN_KEY, baseConfig, complete, startWorld, USER_KEY, type World } from "./operate-world.ts";

const worlds: World[] = [];
afterEach(async () => {
  for (const w of worlds.splice(0)) await w.close();
});

type Scrape = PromFamily[] & { text: string };

async function scrape(w: World): Promise<Scrape> {
  const res = await w.request("/metrics", { key: ADMIN_KEY });
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toContain("text/plain");
  const text = await res.text();
  return Object.assign(parsePrometheusTextFormat(text), { text });
}

/**
 * The observation count of a labelled histogram series. The parser validates every line but folds
 * histogram samples into one unlabelled entry, so the `_count` line is read from the same text.
 */
function histogramCount(s: Scrape, name: string, labels: Record<string, string>): number {
  expect(family(s, name).type).toBe("HISTOGRAM");
  for (const line of s.text.split("\n")) {
    const m = new RegExp(`^${name}_count\\{([^}]*)\\} (\\S+)$`).exec(line);
    if (!m) continue;
    const got = Object.fromEntries([...m[1]!.matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(m[2]);
  }
  return 0;
}

function family(families: PromFamily[], name: string): PromFamily {
  const f = families.find((x) => x.name === name);
  if (!f) throw new Error(`no metric ${name}; have ${families.map((x) => x.name).join(", ")}`);
  return f;
}

function value(families: PromFamily[], name: string, labels: Record<string, string>): number {
  const m = family(families, name).metrics.find((s) =>
    Object.entries(labels).every(([k, v]) => s.labels?.[k] === v),
  );
  return m ? Number(m.value ?? m.count ?? 0) : 0;
}

/** Every (metric, label set) pair: the series a scrape exposes. */
function series(families: PromFamily[]): Set<string> {
  const out = new Set<string>();
  for (const f of families) {
    if (f.name.startsWith("nodejs_") || f.name.startsWith("process_")) continue;
    for (const m of f.metrics) out.add(`${f.name}${JSON.stringify(m.labels ?? {})}`);
  }
  return out;
}

describe("GET /metrics", () => {
  it("is refused to keys without admin: true", async () => {
    const w = await startWorld((url) => baseConfig(url));
    worlds.push(w);
    expect((await w.request("/metrics", { key: USER_KEY })).status).toBe(403);
    expect((await w.request("/metrics")).status).toBe(401);
  });

  it("moves as turns run: turns, latency, tokens, cost, sends, store writes, adapter state, process metrics", async () => {
    const w = await startWorld((url) => baseConfig(url));
    worlds.push(w);
    const before = await scrape(w);
    expect(
      value(before, "switchboard_turns_total", { agent: "main", platform: "api_server", outcome: "ok" }),
    ).toBe(0);
    expect(
      value(before, "switchboard_adapter_state", {
        platform: "test",
        account: "default",
        state: "connected",
      }),
    ).toBe(1);
    expect(family(before, "process_cpu_user_seconds_total").type).toBe("COUNTER");

    w.stub.script({ text: "one", usage: { promptTokens: 100, completionTokens: 10 } });
    expect((await complete(w, USER_KEY, "hi")).status).toBe(200);
    w.stub.script({ text: "two", usage: { promptTokens: 200, completionTokens: 20 } });
    expect(await w.chat("u1", "hello")).toBe("two");
    await w.gateway.idle();

    const after = await scrape(w);
    expect(
      value(after, "switchboard_turns_total", { agent: "main", platform: "api_server", outcome: "ok" }),
    ).toBe(1);
    expect(value(after, "switchboard_turns_total", { agent: "main", platform: "test", outcome: "ok" })).toBe(
      1,
    );
    expect(
      histogramCount(after, "switchboard_turn_duration_seconds", { agent: "main", platform: "test" }),
    ).toBe(1);
    expect(
      histogramCount(after, "switchboard_turn_time_to_first_token_seconds", {
        agent: "main",
        platform: "api_server",
      }),
    ).toBe(1);
    const model = { provider: "openai-compatible", model: "stub-model" };
    expect(value(after, "switchboard_model_tokens_total", { ...model, kind: "input" })).toBe(300);
    expect(value(after, "switchboard_model_tokens_total", { ...model, kind: "output" })).toBe(30);
    expect(value(after, "switchboard_model_cost_usd_total", model)).toBeCloseTo(0.00036, 9);
    expect(histogramCount(after, "switchboard_model_call_duration_seconds", model)).toBe(2);
    expect(
      value(after, "switchboard_sends_total", { platform: "test", account: "default", outcome: "ok" }),
    ).toBe(1);
    expect(
      histogramCount(after, "switchboard_store_write_duration_seconds", { outcome: "ok" }),
    ).toBeGreaterThan(0);

    const account = { platform: "test", account: "default" };
    w.adapter.report("reconnecting", "socket closed");
    const down = await scrape(w);
    expect(value(down, "switchboard_adapter_state", { ...account, state: "reconnecting" })).toBe(1);
    expect(value(down, "switchboard_adapter_state", { ...account, state: "connected" })).toBe(0);
    w.adapter.report("connected");
    const back = await scrape(w);
    expect(value(back, "switchboard_adapter_state", { ...account, state: "connected" })).toBe(1);
    expect(value(back, "switchboard_adapter_reconnects_total", account)).toBe(1);
  });

  it("gauges the budget left per scope kind, agent and window, and counts refusals", async () => {
    const w = await startWorld((url) =>
      baseConfig(url, {
        agents: { main: { budget: { daily: 1000, monthly: 4000 } } },
        budgets: { per_user: { daily: 500 } },
      }),
    );
    worlds.push(w);
    w.stub.script({ text: "one", usage: { promptTokens: 100, completionTokens: 100 } });
    expect(await w.chat("u1", "hello")).toBe("one");
    await w.gateway.idle();
    const first = await scrape(w);
    const ratio = (scope: string, window: string) =>
      value(first, "switchboard_budget_remaining_ratio", { scope, agent: "main", window });
    expect(ratio("agent", "daily")).toBeCloseTo(0.8, 9);
    expect(ratio("agent", "monthly")).toBeCloseTo(0.95, 9);
    expect(ratio("user", "daily")).toBeCloseTo(0.6, 9);

    w.stub.script({ text: "two", usage: { promptTokens: 200, completionTokens: 100 } });
    expect(await w.chat("u1", "again")).toBe("two");
    await w.gateway.idle();
    const second = await scrape(w);
    expect(
      value(second, "switchboard_budget_remaining_ratio", { scope: "user", agent: "main", window: "daily" }),
    ).toBe(0);
    // The user's daily budget is used up: the next message is refused before the model is called.
    await w.chat("u1", "once more");
    await w.gateway.idle();
    const third = await scrape(w);
    expect(
      value(third, "switchboard_limit_refusals_total", { kind: "budget", scope: "user", agent: "main" }),
    ).toBe(1);
  });

  it("keeps label cardinality bounded with 1,000 distinct users", async () => {
    const w = await startWorld((url) => baseConfig(url, { budgets: { per_user: { daily: 1_000_000 } } }));
    worlds.push(w);
    const run = async (from: number, count: number) => {
      for (let i = from; i < from + count; i += 25) {
        await Promise.all(
          Array.from({ length: Math.min(25, from + count - i) }, (_, j) =>
            complete(w, USER_KEY, "hi", `user-${i + j}`).then((r) => r.text()),
          ),
        );
      }
      await w.gateway.idle();
    };
    await run(0, 2);
    const few = series(await scrape(w));
    await run(2, 998);
    const text = await (await w.request("/metrics", { key: ADMIN_KEY })).text();
    const many = series(parsePrometheusTextFormat(text));
    expect(
      value(parsePrometheusTextFormat(text), "switchboard_turns_total", {
        platform: "api_server",
        outcome: "ok",
      }),
    ).toBe(1000);
    expect([...many].filter((s) => !few.has(s))).toEqual([]);
    expect(many.size).toBeLessThan(200);
    expect(text).not.toMatch(/user-\d+/);
    expect(await w.store.usage.summary({ groupBy: ["user"] })).toHaveLength(1000);
  }, 60_000);

  it("backs every query of the Grafana dashboard in docs/grafana with a metric the gateway exports", async () => {
    const w = await startWorld((url) => baseConfig(url));
    worlds.push(w);
    const names = new Set(
      (await scrape(w)).flatMap((f) =>
        f.type === "HISTOGRAM" ? [`${f.name}_bucket`, `${f.name}_count`, `${f.name}_sum`] : [f.name],
      ),
    );
    const file = join(import.meta.dirname, "..", "..", "..", "docs", "grafana", "switchboard.json");
    const dashboard = JSON.parse(readFileSync(file, "utf8")) as {
      panels: Array<{ title: string; targets: Array<{ expr: string }> }>;
    };
    expect(dashboard.panels.length).toBeGreaterThan(10);
    for (const panel of dashboard.panels) {
      for (const { expr } of panel.targets) {
        const used = [...expr.matchAll(/\b((?:switchboard|process|nodejs)_[a-z0-9_]+)/g)].map((m) => m[1]!);
        expect(used.length, `${panel.title}: ${expr}`).toBeGreaterThan(0);
        for (const name of used) expect(names, `${panel.title} uses ${name}`).toContain(name);
      }
    }
  });
});
