import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "..", "..", "..");
const DIRS = [
  ...readdirSync(join(ROOT, "packages"))
    .filter((d) => !d.startsWith("adapter-genprobe"))
    .map((d) => `packages/${d}`),
  ...readdirSync(join(ROOT, "apps")).map((d) => `apps/${d}`),
].filter((d) => existsSync(join(ROOT, d, "package.json")));

interface Manifest {
  name: string;
  private?: boolean;
  description?: string;
  keywords?: string[];
  repository?: { type: string; url: string; directory: string };
  engines?: { node?: string };
  files?: string[];
  types?: string;
  license?: string;
  publishConfig?: { access?: string };
}

describe("publishable packages", () => {
  it("the repository has a LICENSE and a Changesets config", () => {
    expect(readFileSync(join(ROOT, "LICENSE"), "utf8")).toMatch(/^MIT License/);
    const cfg = JSON.parse(readFileSync(join(ROOT, ".changeset", "config.json"), "utf8")) as {
      access: string;
    };
    expect(cfg.access).toBe("public");
    const root = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
      devDependencies: Record<string, string>;
    };
    expect(root.devDependencies["@changesets/cli"]).toBeDefined();
  });

  for (const dir of DIRS) {
    it(`${dir}: complete metadata, and npm would pack its README and LICENSE`, () => {
      const m = JSON.parse(readFileSync(join(ROOT, dir, "package.json"), "utf8")) as Manifest;
      expect(m.name).toMatch(/^@switchboard\//);
      expect(m.description?.length).toBeGreaterThan(10);
      expect(m.keywords).toContain("switchboard");
      expect(m.repository).toMatchObject({ type: "git", directory: dir });
      expect(m.engines?.node).toBe(">=22");
      expect(m.types).toBe("./dist/index.d.ts");
      expect(m.license).toBe("MIT");
      expect(m.files).toEqual(expect.arrayContaining(["dist", "README.md", "LICENSE"]));
      if (!m.private) expect(m.publishConfig?.access).toBe("public");
      const r = spawnSync("npm", ["pack", "--dry-run", "--json"], { cwd: join(ROOT, dir), encoding: "utf8" });
      expect(r.status, r.stderr).toBe(0);
      const files = (JSON.parse(r.stdout) as Array<{ files: Array<{ path: string }> }>)[0]!.files.map(
        (f) => f.path,
      );
      expect(files).toEqual(expect.arrayContaining(["LICENSE", "README.md", "package.json"]));
      expect(readFileSync(join(ROOT, dir, "LICENSE"), "utf8")).toBe(
        readFileSync(join(ROOT, "LICENSE"), "utf8"),
      );
    });
  }
});
