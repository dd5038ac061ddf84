import type { z } from "zod";

type Path = PropertyKey[];

/** A scalar rewritten into the type the schema expects at its path, or `undefined` when it cannot be. */
function coerceScalar(value: unknown, expected: string): { value: unknown } | undefined {
  if (expected === "string" && typeof value === "number" && Number.isFinite(value))
    return { value: String(value) };
  if (typeof value !== "string") return undefined;
  const t = value.trim();
  if ((expected === "number" || expected === "int") && /^-?\d+(\.\d+)?$/.test(t)) return { value: Number(t) };
  if (expected === "boolean" && (t === "true" || t === "false")) return { value: t === "true" };
  return undefined;
}

interface Fix {
  path: Path;
  value: unknown;
}

function get(root: unknown, path: Path): unknown {
  let v = root;
  for (const k of path) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<PropertyKey, unknown>)[k];
  }
  return v;
}

/** The fixes that would clear every issue in `issues`, or undefined when one of them is not a type mismatch we forgive. */
function fixesFor(root: unknown, issues: readonly z.core.$ZodIssue[], base: Path): Fix[] | undefined {
  const out: Fix[] = [];
  for (const issue of issues) {
    const path = [...base, ...issue.path];
    if (issue.code === "invalid_type") {
      const c = coerceScalar(get(root, path), issue.expected);
      if (!c) return undefined;
      out.push({ path, value: c.value });
    } else if (issue.code === "invalid_union") {
      const branch = issue.errors.map((errs) => fixesFor(root, errs, path)).find((f) => f && f.length > 0);
      if (!branch) return undefined;
      out.push(...branch);
    } else return undefined;
  }
  return out;
}

function set(root: unknown, path: Path, value: unknown): void {
  const parent = get(root, path.slice(0, -1));
  if (parent && typeof parent === "object") (parent as Record<PropertyKey, unknown>)[path.at(-1)!] = value;
}

/**
 * Parse with the schema, forgiving scalars written in the wrong YAML type: `port: ${PORT:-8642}` (a string
 * after interpolation) becomes the number the schema expects, and an unquoted id (`chat_id: -1001234`)
 * the string it means. Only issues that such a rewrite clears are fixed; everything else is reported as is.
 */
export function parseForgiving<S extends z.ZodType>(
  schema: S,
  value: unknown,
): z.ZodSafeParseResult<z.output<S>> {
  let current = value;
  let result = schema.safeParse(current);
  for (let round = 0; round < 4 && !result.success; round++) {
    const fixes: Fix[] = [];
    for (const issue of result.error.issues) {
      const f = fixesFor(current, [issue], []);
      if (f) fixes.push(...f);
    }
    if (fixes.length === 0) break;
    current = structuredClone(current);
    for (const f of fixes) set(current, f.path, f.value);
    result = schema.safeParse(current);
  }
  return result;
}
