/** `/help`: every command of the table, one a line. */
export function helpText(entries: ReadonlyArray<{ name: string; description: string }>): string {
  return entries.map((e) => `/${e.name} — ${e.description}`).join("\n");
}
