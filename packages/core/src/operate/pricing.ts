import type { ModelPrice } from "../config/schema.ts";
import type { Usage } from "../runner.ts";

/**
 * Built-in prices, USD per million tokens (public list prices; override or extend with `pricing:`).
 * Looked up by `<provider kind>/<model>` then `<model>`, the longest matching prefix winning, so dated
 * names (`claude-sonnet-4-20250514`) find their family.
 */
export const DEFAULT_PRICING: Readonly<Record<string, ModelPrice>> = {
  "gpt-5": { input: 1.25, output: 10, cached_input: 0.125 },
  "gpt-5-mini": { input: 0.25, output: 2, cached_input: 0.025 },
  "gpt-5-nano": { input: 0.05, output: 0.4, cached_input: 0.005 },
  "gpt-4.1": { input: 2, output: 8, cached_input: 0.5 },
  "gpt-4.1-mini": { input: 0.4, output: 1.6, cached_input: 0.1 },
  "gpt-4.1-nano": { input: 0.1, output: 0.4, cached_input: 0.025 },
  "gpt-4o": { input: 2.5, output: 10, cached_input: 1.25 },
  "gpt-4o-mini": { input: 0.15, output: 0.6, cached_input: 0.075 },
  o3: { input: 2, output: 8, cached_input: 0.5 },
  "o4-mini": { input: 1.1, output: 4.4, cached_input: 0.275 },
  "claude-opus-4": { input: 15, output: 75, cached_input: 1.5 },
  "claude-sonnet-4": { input: 3, output: 15, cached_input: 0.3 },
  "claude-haiku-4": { input: 1, output: 5, cached_input: 0.1 },
  "claude-3-7-sonnet": { input: 3, output: 15, cached_input: 0.3 },
  "claude-3-5-haiku": { input: 0.8, output: 4, cached_input: 0.08 },
};

/** Prices already looked up, per operator table (a reload brings a new table, so a fresh memo), kind and model. */
const memo = new WeakMap<object, Map<string, Map<string, ModelPrice | null>>>();

/** The price of a model: the operator's table first, then the built-in one; `undefined` when unknown. */
export function priceOf(
  table: Readonly<Record<string, ModelPrice>>,
  providerKind: string,
  model: string | undefined,
): ModelPrice | undefined {
  if (!model) return undefined;
  let kinds = memo.get(table);
  if (!kinds) memo.set(table, (kinds = new Map()));
  let known = kinds.get(providerKind);
  if (!known) kinds.set(providerKind, (known = new Map()));
  const hit = known.get(model);
  if (hit !== undefined) return hit ?? undefined;
  const price = lookUp(table, providerKind, model);
  if (known.size < 10_000) known.set(model, price ?? null);
  return price;
}

function lookUp(
  table: Readonly<Record<string, ModelPrice>>,
  providerKind: string,
  model: string,
): ModelPrice | undefined {
  for (const t of [table, DEFAULT_PRICING]) {
    const exact = t[`${providerKind}/${model}`] ?? t[model];
    if (exact) return exact;
    let best: string | undefined;
    for (const k of Object.keys(t)) {
      const name = k.includes("/")
        ? k.startsWith(`${providerKind}/`)
          ? k.slice(providerKind.length + 1)
          : ""
        : k;
      if (name && model.startsWith(name) && (!best || name.length > best.length)) best = name;
    }
    if (best) return t[`${providerKind}/${best}`] ?? t[best];
  }
  return undefined;
}

/** The cost of one call's usage, USD; cached input tokens at the cached price when there is one. */
export function costOf(usage: Usage, price: ModelPrice | undefined): number {
  if (!price) return 0;
  const cached = Math.min(usage.cachedInputTokens ?? 0, usage.inputTokens);
  const fresh = usage.inputTokens - cached;
  return (
    (fresh * price.input + cached * (price.cached_input ?? price.input) + usage.outputTokens * price.output) /
    1e6
  );
}
