import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type PlatformDefinition, validatePlatformSection } from "@switchboard/core";
import { describe, expect, it } from "vitest";
import { adapterConformance, CONFORMANCE_TESTS, type ConformanceDescriptors } from "../src/index.ts";

const PACKAGES = join(import.meta.dirname, "..", "..");
const ADAPTERS = readdirSync(PACKAGES).filter(
  (d) =>
    d.startsWith("adapter-") &&
    !d.startsWith("adapter-genprobe") &&
    existsSync(join(PACKAGES, d, "package.json")),
);

interface Loaded {
  dir: string;
  name: string;
  mod: Record<string, unknown> & { platform: PlatformDefinition };
  descriptors: ConformanceDescriptors | undefined;
  descriptorError: string | undefined;
}
const loaded: Loaded[] = await Promise.all(
  ADAPTERS.map(async (dir) => {
    const mod = (await import(join(PACKAGES, dir, "src", "index.ts"))) as Loaded["mod"];
    let descriptors: ConformanceDescriptors | undefined;
    let descriptorError: string | undefined;
    try {
      descriptors = (
        (await import(join(PACKAGES, dir, "test", "conformance-descriptors.ts"))) as {
          descriptors: ConformanceDescriptors;
        }
      ).descriptors;
    } catch (err) {
      descriptorError = `${dir}/test/conformance-descriptors.ts must export \`descriptors\` (its conformance descriptors by receive mode): ${(err as Error).message}`;
    }
    return { dir, name: dir.slice("adapter-".length), mod, descriptors, descriptorError };
  }),
);

/** Keys in the first column of the README's config table. */
function documentedKeys(readme: string): string[] {
  return readme
    .split("\n")
    .filter((l) => l.startsWith("| `"))
    .flatMap((l) => [...l.split("|")[1]!.matchAll(/`([a-z][a-z0-9_]*)`/g)].map((m) => m[1]!));
}

describe("every adapter package", () => {
  it("finds the adapter packages", () => {
    expect(loaded.length).toBeGreaterThanOrEqual(1);
  });

  for (const { dir, name, mod, descriptors, descriptorError } of loaded) {
    const Name = name[0]!.toUpperCase() + name.slice(1);
    describe(dir, () => {
      it(`exports platform and create${Name}Adapter`, () => {
        expect(mod.platform).toMatchObject({ name });
        expect(typeof mod.platform.create).toBe("function");
        expect(typeof mod[`create${Name}Adapter`]).toBe("function");
      });

      it("has a README with a minimal config, documenting every key, each accepted by the schema", () => {
        const file = join(PACKAGES, dir, "README.md");
        expect(existsSync(file)).toBe(true);
        const text = readFileSync(file, "utf8");
        expect(text).toMatch(/```ya?ml[\s\S]*platforms:/);
        const documented = documentedKeys(text);
        const shape =
          (mod.platform.configSchema as unknown as { shape?: Record<string, unknown> }).shape ?? {};
        for (const k of Object.keys(shape))
          expect(documented, `${dir}/README.md must document \`${k}\``).toContain(k);
        for (const k of documented) {
          const unknown = validatePlatformSection(
            name,
            { [k]: k === "accounts" ? {} : null },
            mod.platform,
          ).issues.filter((i) => i.message.startsWith("unknown key"));
          expect(unknown, `${dir}/README.md documents \`${k}\`, which the schema refuses`).toEqual([]);
        }
      });

      it("exports conformance descriptors for this platform and its definition", () => {
        expect(descriptorError).toBeUndefined();
        const all = Object.entries(descriptors ?? {});
        expect(all.length).toBeGreaterThan(0);
        for (const [mode, d] of all) {
          expect(d.name, mode).toBe(name);
          expect(d.definition, `${mode} uses the package's own platform definition`).toBe(mod.platform);
          for (const [test, reason] of Object.entries(d.optOut ?? {})) {
            expect(CONFORMANCE_TESTS, `${mode} opts out of an unknown test`).toContain(test);
            expect(String(reason).length, `${mode}: opting out of ${test} needs a reason`).toBeGreaterThan(
              10,
            );
          }
        }
      });

      // The descriptor really drives the adapter: a DM through a real gateway to the routed agent and back.
      const first = Object.entries(descriptors ?? {})[0];
      if (first)
        describe(`${first[0]} descriptor`, () => adapterConformance(first[1], { only: ["dm-routing"] }));
    });
  }
});
