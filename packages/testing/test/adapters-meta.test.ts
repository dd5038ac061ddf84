import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { PLATFORM_COMMON_KEYS } from "@switchboard/core";
import { describe, expect, it } from "vitest";

const PACKAGES = join(import.meta.dirname, "..", "..");
const ADAPTERS = readdirSync(PACKAGES).filter(
  (d) => d.startsWith("adapter-") && !d.startsWith("adapter-genprobe"),
);

describe("every adapter package", () => {
  it("finds the adapter packages", () => {
    expect(ADAPTERS.length).toBeGreaterThanOrEqual(1);
  });

  for (const dir of ADAPTERS) {
    const name = dir.slice("adapter-".length);
    const Name = name[0]!.toUpperCase() + name.slice(1);
    describe(dir, () => {
      it(`exports platform and create${Name}Adapter`, async () => {
        const mod = (await import(join(PACKAGES, dir, "src", "index.ts"))) as Record<string, unknown>;
        expect(mod.platform).toMatchObject({ name });
        expect(typeof (mod.platform as { create: unknown }).create).toBe("function");
        expect(typeof mod[`create${Name}Adapter`]).toBe("function");
      });

      it("has a README with a minimal config and every config key", async () => {
        const readme = join(PACKAGES, dir, "README.md");
        expect(existsSync(readme)).toBe(true);
        const text = readFileSync(readme, "utf8");
        expect(text).toMatch(/```ya?ml[\s\S]*platforms:/);
        const mod = (await import(join(PACKAGES, dir, "src", "index.ts"))) as {
          platform: { configSchema: { shape?: Record<string, unknown> } };
        };
        const keys = Object.keys(mod.platform.configSchema.shape ?? {}).filter(
          (k) => !(PLATFORM_COMMON_KEYS as readonly string[]).includes(k),
        );
        expect(keys.length).toBeGreaterThan(0);
        for (const k of keys) expect(text, `${dir}/README.md must document \`${k}\``).toContain(`\`${k}\``);
      });

      it("runs the conformance suite", () => {
        const tests = join(PACKAGES, dir, "test");
        const files = existsSync(tests) ? readdirSync(tests).filter((f) => f.endsWith(".test.ts")) : [];
        expect(files.some((f) => readFileSync(join(tests, f), "utf8").includes("adapterConformance("))).toBe(
          true,
        );
      });
    });
  }
});
