/** The p-th percentile (0..100) of `xs`, nearest-rank. */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return Number.NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

export const median = (xs: readonly number[]): number => percentile(xs, 50);

/** Collect garbage between repetitions when `--expose-gc` is on, so one run's garbage is not billed to the next. */
export function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

/** Run `fn` `reps` times after `warmup` untimed runs; each run returns its own measurement. */
export async function repeat(
  reps: number,
  fn: () => number | Promise<number>,
  warmup = 1,
): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await fn();
  const out: number[] = [];
  for (let i = 0; i < reps; i++) {
    gc();
    out.push(await fn());
  }
  return out;
}

export interface Timing {
  wallMs: number;
  /** CPU time of this thread: on a shared machine the stable measure of CPU-bound code. */
  cpuMs: number;
}

const cpuNow = (): number => {
  const u = process.threadCpuUsage();
  return (u.user + u.system) / 1000;
};

/** Time `fn` by the wall clock and by this thread's CPU time. */
export async function measure(fn: () => void | Promise<void>): Promise<Timing> {
  const c0 = cpuNow();
  const w0 = performance.now();
  await fn();
  return { wallMs: performance.now() - w0, cpuMs: cpuNow() - c0 };
}

/** The 1-minute load average per core, so a reader can tell a quiet machine from a busy one. */
export function loadPerCore(): string {
  const { loadavg, availableParallelism } = process.getBuiltinModule("node:os");
  return (loadavg()[0]! / availableParallelism()).toFixed(2);
}
