/** A target a measured value must meet: at least (`>=`) or at most (`<=`) `value`. */
export interface Target {
  op: ">=" | "<=";
  value: number;
}

export interface Row {
  metric: string;
  value: number;
  unit: string;
  target?: Target;
  /** Free text: the baseline, a p99, how it was measured. */
  note?: string;
}

/** 1234567 → "1,234,567"; small values keep three significant digits. */
export function formatNumber(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const abs = Math.abs(n);
  if (abs >= 1000) return Math.round(n).toLocaleString("en-US");
  if (abs >= 100) return n.toFixed(0);
  if (abs >= 10) return n.toFixed(1);
  if (abs >= 1) return n.toFixed(2);
  return n.toPrecision(3);
}

export function meets(value: number, target: Target): boolean {
  return target.op === ">=" ? value >= target.value : value <= target.value;
}

/** Print an aligned table with a pass/fail column; returns whether every target was met. */
export function printTable(
  title: string,
  rows: Row[],
  write: (s: string) => void = (s) => process.stdout.write(s),
): boolean {
  const header = ["metric", "value", "unit", "target", "status", "note"];
  const cells = rows.map((r) => [
    r.metric,
    formatNumber(r.value),
    r.unit,
    r.target ? `${r.target.op} ${formatNumber(r.target.value)}` : "",
    r.target ? (meets(r.value, r.target) ? "pass" : "FAIL") : "",
    r.note ?? "",
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  // Numbers align right, text left.
  const line = (c: string[]) =>
    c
      .map((v, i) => (i === 1 || i === 3 ? v.padStart(widths[i]!) : v.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  const rule = widths.map((w) => "-".repeat(w)).join("  ");
  write(`\n${title}\n${"=".repeat(title.length)}\n${line(header)}\n${rule}\n${cells.map(line).join("\n")}\n`);
  return rows.every((r) => !r.target || meets(r.value, r.target));
}
