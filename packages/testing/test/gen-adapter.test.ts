import { spawnSync } from "node:child_process";
import { existsSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "..", "..", "..");
const NAME = `genprobe${process.pid}`;
const DIR = join(ROOT, "packages", `adapter-${NAME}`);

afterAll(() => rmSync(DIR, { recursive: true, force: true }));

function run(cmd: string, args: string[], cwd = ROOT) {
  return spawnSync(cmd, args, {
    cwd,
    encoding: "utf8",
    timeout: 120_000,
    env: { ...process.env, NO_COLOR: "1" },
  });
}

describe("pnpm gen:adapter", () => {
  it("scaffolds an adapter package that typechecks and passes the conformance suite", () => {
    const gen = run(process.execPath, [join(ROOT, "scripts", "gen-adapter.ts"), NAME]);
    expect(gen.status, gen.stderr).toBe(0);
    for (const f of [
      "package.json",
      "README.md",
      "src/index.ts",
      "src/types.ts",
      "src/format.ts",
      "src/errors.ts",
      "src/normalize.ts",
      `test/fake-${NAME}.ts`,
      "test/conformance.test.ts",
      "test/conformance-descriptors.ts",
      "LICENSE",
    ]) {
      expect(existsSync(join(DIR, f)), f).toBe(true);
    }
    // As generated, the package passes the repository's lint and format check.
    const lint = run(process.execPath, [
      join(ROOT, "node_modules", "@biomejs", "biome", "bin", "biome"),
      "check",
      DIR,
    ]);
    expect(lint.status, lint.stdout + lint.stderr).toBe(0);
    // Link the workspace dependencies an install would link (same set as adapter-wecom's).
    symlinkSync(join(ROOT, "packages", "adapter-wecom", "node_modules"), join(DIR, "node_modules"));
    writeFileSync(
      join(DIR, "tsconfig.check.json"),
      JSON.stringify({
        extends: "../../tsconfig.base.json",
        compilerOptions: { noEmit: true },
        include: ["src", "test"],
      }),
    );
    const tsc = run(process.execPath, [
      join(ROOT, "node_modules", "typescript", "bin", "tsc"),
      "-p",
      join(DIR, "tsconfig.check.json"),
    ]);
    expect(tsc.status, tsc.stdout + tsc.stderr).toBe(0);
    const vitest = run(
      process.execPath,
      [join(ROOT, "node_modules", "vitest", "vitest.mjs"), "run", "--root", DIR],
      DIR,
    );
    expect(vitest.status, vitest.stdout + vitest.stderr).toBe(0);
    // Every conformance test, streaming-edits included.
    expect(vitest.stdout).toMatch(/12 passed/);
  }, 180_000);

  it("refuses a bad name", () => {
    const r = run(process.execPath, [join(ROOT, "scripts", "gen-adapter.ts"), "Bad-Name"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("usage: pnpm gen:adapter <name>");
  });
});
