import { readFileSync } from "node:fs";
import { join } from "node:path";
import { configSchema } from "@switchboard/core";
import { describe, expect, it } from "vitest";

const DOCS = join(import.meta.dirname, "..", "..", "..", "docs");

describe("docs", () => {
  it("documents every top-level config key in docs/configuration.md", () => {
    const text = readFileSync(join(DOCS, "configuration.md"), "utf8");
    const keys = Object.keys(configSchema.shape);
    expect(keys.length).toBeGreaterThan(10);
    for (const key of keys)
      expect(text, `docs/configuration.md lacks a "### \`${key}\`" section`).toContain(`### \`${key}\``);
  });

  it("documents the packages and the path of a message in docs/architecture.md", () => {
    const text = readFileSync(join(DOCS, "architecture.md"), "utf8");
    for (const p of [
      "packages/core",
      "packages/agent",
      "packages/api-server",
      "apps/gateway",
      "The path of a message",
      "The agent scope",
    ]) {
      expect(text).toContain(p);
    }
  });
});

describe("docs/configuration.md per platform", () => {
  const text = readFileSync(join(DOCS, "configuration.md"), "utf8");
  for (const name of ["telegram", "discord", "slack", "matrix", "feishu", "wecom"]) {
    it(`documents every ${name} key in its own section`, async () => {
      const mod = (await import(`@switchboard/adapter-${name}`)) as {
        platform: { configSchema: { shape: Record<string, unknown> } };
      };
      const start = text.indexOf(`(\`@switchboard/adapter-${name}\`)`);
      expect(start, `no section for ${name}`).toBeGreaterThan(0);
      const end = text.indexOf("\n###", start + 1);
      const section = text.slice(start, end < 0 ? undefined : end);
      const common = ["enabled", "allowed_users", "allow_all_users", "api_url", "admins"];
      for (const key of Object.keys(mod.platform.configSchema.shape).filter((k) => !common.includes(k))) {
        expect(section, `docs/configuration.md: ${name} section lacks \`${key}\``).toContain(`\`${key}\``);
      }
    });
  }
});
