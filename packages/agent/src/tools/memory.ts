import { randomBytes } from "node:crypto";
import { readFile, rename, unlink, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { z } from "zod";
import { invalidateCached } from "../files.ts";
import { agentDirs, resolveInside } from "./paths.ts";
import { type AgentTool, defineTool, type ToolContext, ToolError } from "./types.ts";

export const DEFAULT_MEMORY_CHAR_LIMIT = 8_000;
/** Entries are separated by a line holding only this character (the upstream gateway's format). */
export const MEMORY_SEPARATOR = "§";
const MEMORY_FILES = { memory: "MEMORY.md", user: "USER.md" } as const;
type MemoryTarget = keyof typeof MEMORY_FILES;

const SEPARATOR_LINE_RE = /^[ \t]*§[ \t]*$/m;
const targetSchema = z
  .enum(["memory", "user"])
  .describe("`memory`: notes for yourself (MEMORY.md); `user`: what you know about the user (USER.md)");

/** Split a memory file into its entries (a file without separators is one entry). */
export function parseMemoryEntries(text: string): string[] {
  return text
    .split(new RegExp(SEPARATOR_LINE_RE.source, "gm"))
    .map((e) => e.trim())
    .filter(Boolean);
}

export function formatMemoryEntries(entries: string[]): string {
  return entries.length === 0 ? "" : `${entries.join(`\n${MEMORY_SEPARATOR}\n`)}\n`;
}

// Turns of one agent may run concurrently (several chats): writes to one file are serialized.
const LOCKS = new Map<string, Promise<unknown>>();
async function withFileLock<T>(file: string, fn: () => Promise<T>): Promise<T> {
  const previous = LOCKS.get(file) ?? Promise.resolve();
  const run = previous.then(fn, fn);
  const tail = run.catch(() => undefined);
  LOCKS.set(file, tail);
  try {
    return await run;
  } finally {
    if (LOCKS.get(file) === tail) LOCKS.delete(file);
  }
}

async function memoryFile(ctx: ToolContext, target: MemoryTarget): Promise<string> {
  return resolveInside(ctx.agent, agentDirs(ctx.agent).memories, [MEMORY_FILES[target]], { create: true });
}

async function readEntries(file: string): Promise<string[]> {
  try {
    return parseMemoryEntries(await readFile(file, "utf8"));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
}

/** Read-modify-write one memory file atomically (temp file + rename), enforcing the size cap. */
async function update(ctx: ToolContext, target: MemoryTarget, change: (entries: string[]) => string[]) {
  const file = await memoryFile(ctx, target);
  return withFileLock(file, async () => {
    const next = change(await readEntries(file));
    const text = formatMemoryEntries(next);
    if (text.length > ctx.memoryCharLimit) {
      throw new ToolError(
        `${MEMORY_FILES[target]} would be ${text.length.toLocaleString("en-US")} characters, over its limit of ${ctx.memoryCharLimit.toLocaleString("en-US")}: shorten or remove entries first (memory_replace, memory_remove)`,
        "memory_full",
      );
    }
    const tmp = join(dirname(file), `.${MEMORY_FILES[target]}.${randomBytes(6).toString("hex")}.tmp`);
    try {
      await writeFile(tmp, text, { encoding: "utf8", mode: 0o600 });
      await rename(tmp, file);
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      throw err;
    }
    invalidateCached(file);
    return {
      ok: true,
      file: MEMORY_FILES[target],
      entries: next.length,
      chars: text.length,
      limit: ctx.memoryCharLimit,
    };
  });
}

function checkEntry(content: string): string {
  const entry = content.trim();
  if (!entry) throw new ToolError("the entry is empty", "invalid_input");
  if (SEPARATOR_LINE_RE.test(entry)) {
    throw new ToolError(
      `an entry must not contain a line holding only "${MEMORY_SEPARATOR}" (the entry separator)`,
      "invalid_input",
    );
  }
  return entry;
}

/** The one entry containing `needle`; ambiguity and absence are errors the model can act on. */
function findEntry(entries: string[], needle: string, file: string): number {
  const matches = entries.flatMap((e, i) => (e.includes(needle) ? [i] : []));
  if (matches.length === 0)
    throw new ToolError(`no entry of ${file} contains ${JSON.stringify(needle)}`, "not_found");
  if (matches.length > 1) {
    throw new ToolError(
      `${matches.length} entries of ${file} contain ${JSON.stringify(needle)}: quote more of the entry`,
      "ambiguous",
    );
  }
  return matches[0]!;
}

export const MEMORY_TOOLS: AgentTool[] = [
  defineTool({
    name: "memory_add",
    description:
      "Save a new entry to your long-term memory (MEMORY.md) or your notes about the user (USER.md).",
    inputSchema: z.object({ target: targetSchema, content: z.string().describe("The entry text") }),
    execute: async ({ target, content }, ctx) => {
      const entry = checkEntry(content);
      return update(ctx, target, (entries) => [...entries, entry]);
    },
  }),
  defineTool({
    name: "memory_replace",
    description: "Replace the memory entry that contains `old_text` with `new_text`.",
    inputSchema: z.object({
      target: targetSchema,
      old_text: z.string().min(1).describe("A unique part of the entry to replace"),
      new_text: z.string().describe("The new entry text"),
    }),
    execute: async ({ target, old_text, new_text }, ctx) => {
      const entry = checkEntry(new_text);
      return update(ctx, target, (entries) => {
        const i = findEntry(entries, old_text, MEMORY_FILES[target]);
        return entries.map((e, j) => (j === i ? entry : e));
      });
    },
  }),
  defineTool({
    name: "memory_remove",
    description: "Remove the memory entry that contains `old_text`.",
    inputSchema: z.object({
      target: targetSchema,
      old_text: z.string().min(1).describe("A unique part of the entry to remove"),
    }),
    execute: async ({ target, old_text }, ctx) =>
      update(ctx, target, (entries) => {
        const i = findEntry(entries, old_text, MEMORY_FILES[target]);
        return entries.filter((_, j) => j !== i);
      }),
  }),
];
