import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import {
  ConfigError,
  configSchema,
  loadConfig,
  type PlatformDefinition,
  validatePlatformSection,
} from "@switchboard/core";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import type { z } from "zod";

const ROOT = join(import.meta.dirname, "..", "..", "..");
const DOC = readFileSync(join(ROOT, "docs", "configuration.md"), "utf8");
const PLATFORMS = readdirSync(join(ROOT, "packages"))
  .filter((d) => d.startsWith("adapter-") && !d.startsWith("adapter-genprobe"))
  .map((d) => d.slice("adapter-".length));
const definitions: Record<string, PlatformDefinition> = Object.fromEntries(
  await Promise.all(
    PLATFORMS.map(async (name) => {
      const mod = (await import(`@switchboard/adapter-${name}`)) as { platform: PlatformDefinition };
      return [name, mod.platform] as const;
    }),
  ),
);

/** The text under the heading that contains `heading`, up to the next heading of the same or a higher level. */
function section(heading: string): string {
  const at = DOC.indexOf(heading);
  expect(at, `docs/configuration.md has no heading with "${heading}"`).toBeGreaterThanOrEqual(0);
  const lineStart = DOC.lastIndexOf("\n", at) + 1;
  const lineEnd = DOC.indexOf("\n", at);
  const level = /^#+/.exec(DOC.slice(lineStart))?.[0].length ?? 6;
  const rest = DOC.slice(lineEnd);
  const next = rest.search(new RegExp(`\\n#{1,${level}} `));
  return next < 0 ? rest : rest.slice(0, next);
}

/** Keys in the first column of a `| key | … |` table. */
function tableKeys(text: string): string[] {
  return text
    .split("\n")
    .filter((l) => l.startsWith("| `"))
    .flatMap((l) => [...l.split("|")[1]!.matchAll(/`([a-z][a-z0-9_]*)`/g)].map((m) => m[1]!));
}

/** Keys named in prose (`token` (required), `mode` (…)): backticked words outside parentheses. */
function proseKeys(text: string): string[] {
  let flat = text.replace(/```[\s\S]*?```/g, "");
  for (let i = 0; i < 5; i++) flat = flat.replace(/\([^()]*\)/g, "");
  return [...flat.matchAll(/`([a-z][a-z0-9_]*)`/g)].map((m) => m[1]!);
}

function yamlBlocks(text: string): unknown[] {
  return [...text.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => parseYaml(m[1]!) as unknown);
}

/** The keys a schema refuses as unknown in `value` (type errors do not count: only whether the key exists). */
function unknownKeysIn(schema: z.ZodType, value: unknown): string[] {
  const r = schema.safeParse(value);
  if (r.success) return [];
  return r.error.issues.flatMap((i) =>
    i.code === "unrecognized_keys" ? i.keys.map((k) => [...i.path, k].join(".")) : [],
  );
}

function platformUnknownKeys(name: string, sectionValue: Record<string, unknown>): string[] {
  return validatePlatformSection(name, sectionValue, definitions[name]!)
    .issues.filter((i) => i.message.startsWith("unknown key"))
    .map((i) => i.path.join("."));
}

describe("docs/configuration.md", () => {
  it("has a section for exactly the top-level keys the schema accepts", () => {
    const documented = [...DOC.matchAll(/^### `([a-z_]+)`/gm)].map((m) => m[1]!).sort();
    expect(documented).toEqual(Object.keys(configSchema.shape).sort());
  });

  it("documents agent and api_server keys the schema accepts", () => {
    // The agents section has the agent table, then the table of one MCP server's keys.
    const agents = section("### `agents`");
    const mcpAt = agents.indexOf("`agents.<id>.mcp.<server>`");
    expect(mcpAt, "the agents section documents agents.<id>.mcp.<server>").toBeGreaterThan(0);
    const agentKeys = tableKeys(agents.slice(0, mcpAt));
    expect(agentKeys.length).toBeGreaterThan(5);
    for (const k of agentKeys)
      expect(unknownKeysIn(configSchema, { agents: { x: { [k]: null } } }), k).toEqual([]);
    const mcpKeys = tableKeys(agents.slice(mcpAt));
    expect(mcpKeys.length).toBeGreaterThan(5);
    for (const k of mcpKeys)
      expect(
        unknownKeysIn(configSchema, { agents: { x: { mcp: { s: { command: "node", [k]: null } } } } }),
        `mcp: ${k}`,
      ).toEqual([]);
    const apiKeys = tableKeys(section("### `api_server`"));
    expect(apiKeys.length).toBeGreaterThan(5);
    for (const k of apiKeys)
      expect(unknownKeysIn(configSchema, { api_server: { [k]: null } }), k).toEqual([]);
  });

  it("has examples that use only keys the config accepts", async () => {
    const blocks = yamlBlocks(DOC).filter(
      (b): b is Record<string, unknown> =>
        !!b && typeof b === "object" && Object.keys(b).every((k) => k in configSchema.shape),
    );
    expect(blocks.length).toBeGreaterThan(1);
    for (const block of blocks) {
      const text = JSON.stringify(block);
      const env = Object.fromEntries(
        [...text.matchAll(/\$\{([A-Z_][A-Z0-9_]*)/g)].map((m) => [m[1]!, "placeholder-1234"]),
      );
      try {
        await loadConfig({ home: ROOT, text, env, platforms: definitions });
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        expect(
          err.issues.filter((i) => i.message.startsWith("unknown")),
          text,
        ).toEqual([]);
      }
    }
  });

  for (const name of PLATFORMS) {
    it(`documents ${name}'s keys, each accepted by its adapter's schema`, () => {
      const text = section(`(\`@switchboard/adapter-${name}\`)`);
      const keys = proseKeys(text);
      expect(keys.length, `the ${name} section names no keys`).toBeGreaterThan(0);
      for (const k of keys)
        expect(platformUnknownKeys(name, { [k]: k === "accounts" ? {} : null }), k).toEqual([]);
      // Every key the schema has is documented (the common ones are in the table above the sections).
      const common = tableKeys(section("### `platforms`"));
      const shape = (definitions[name]!.configSchema as unknown as { shape: Record<string, unknown> }).shape;
      for (const k of Object.keys(shape).filter((k) => !common.includes(k)))
        expect(keys, `${name}: \`${k}\``).toContain(k);
      for (const example of yamlBlocks(text)) {
        const value = (example as Record<string, Record<string, unknown>>)[name];
        expect(value, `the ${name} example is under "${name}:"`).toBeDefined();
        expect(platformUnknownKeys(name, value!)).toEqual([]);
      }
    });
  }
});

describe("docs/architecture.md", () => {
  it("documents the packages and the path of a message", () => {
    const text = readFileSync(join(ROOT, "docs", "architecture.md"), "utf8");
    for (const p of [
      "packages/core",
      "packages/agent",
      "packages/api-server",
      "apps/gateway",
      "The path of a message",
      "The agent scope",
    ])
      expect(text).toContain(p);
  });
});
