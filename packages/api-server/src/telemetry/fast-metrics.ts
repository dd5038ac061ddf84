import type { Registry } from "prom-client";

/**
 * Counters and histograms for the per-turn hot path. prom-client validates and hashes the label object
 * on every `inc`/`observe`; these keep one entry per label-value tuple (found by a joined string) and
 * hand prom-client's registry the same `get()` shape its own metrics produce, so the exposition (and
 * everything else on the registry) is prom-client's.
 */
interface Series<V> {
  labels: Record<string, string>;
  value: V;
}

abstract class FastMetric<V> {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly string[];
  readonly aggregator = "sum";
  protected readonly series = new Map<string, Series<V>>();
  /** The series by label value, one map level per label: a lookup builds no key (the values' hashes are kept). */
  readonly #tree = new Map<string, unknown>();

  constructor(options: { name: string; help: string; labelNames: readonly string[]; registers: Registry[] }) {
    this.name = options.name;
    this.help = options.help;
    this.labelNames = options.labelNames;
    for (const r of options.registers) r.registerMetric(this as never);
  }

  protected entry(values: readonly string[], init: () => V): Series<V> {
    let level = this.#tree;
    const last = values.length - 1;
    for (let i = 0; i < last; i++) {
      const v = values[i] ?? "";
      let child = level.get(v) as Map<string, unknown> | undefined;
      if (!child) level.set(v, (child = new Map()));
      level = child;
    }
    const leaf = values[last] ?? "";
    const hit = level.get(leaf) as Series<V> | undefined;
    if (hit) return hit;
    const labels: Record<string, string> = {};
    this.labelNames.forEach((n, i) => {
      labels[n] = values[i] ?? "";
    });
    const s = { labels, value: init() };
    level.set(leaf, s);
    this.series.set(values.join("\u0000"), s);
    return s;
  }

  reset(): void {
    this.series.clear();
    this.#tree.clear();
  }
}

export class FastCounter extends FastMetric<{ n: number }> {
  readonly type = "counter";

  inc(values: readonly string[], by = 1): void {
    this.entry(values, () => ({ n: 0 })).value.n += by;
  }

  async get() {
    return {
      name: this.name,
      help: this.help,
      type: this.type,
      aggregator: this.aggregator,
      values: [...this.series.values()].map((s) => ({ labels: s.labels, value: s.value.n })),
    };
  }
}

export class FastHistogram extends FastMetric<{ buckets: number[]; sum: number; count: number }> {
  readonly type = "histogram";
  readonly #bounds: readonly number[];

  constructor(options: {
    name: string;
    help: string;
    labelNames: readonly string[];
    buckets: readonly number[];
    registers: Registry[];
  }) {
    super(options);
    this.#bounds = [...options.buckets].sort((a, b) => a - b);
  }

  observe(values: readonly string[], v: number): void {
    const s = this.entry(values, () => ({
      buckets: new Array<number>(this.#bounds.length).fill(0),
      sum: 0,
      count: 0,
    }));
    const h = s.value;
    h.sum += v;
    h.count++;
    for (let i = 0; i < this.#bounds.length; i++) {
      if (v <= this.#bounds[i]!) {
        h.buckets[i]!++;
        break;
      }
    }
  }

  async get() {
    const values: Array<{ labels: Record<string, string | number>; value: number; metricName: string }> = [];
    for (const s of this.series.values()) {
      let acc = 0;
      this.#bounds.forEach((b, i) => {
        acc += s.value.buckets[i]!;
        values.push({ labels: { ...s.labels, le: b }, value: acc, metricName: `${this.name}_bucket` });
      });
      values.push({
        labels: { ...s.labels, le: "+Inf" },
        value: s.value.count,
        metricName: `${this.name}_bucket`,
      });
      values.push({ labels: s.labels, value: s.value.sum, metricName: `${this.name}_sum` });
      values.push({ labels: s.labels, value: s.value.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }
}
