import { describe, expect, it } from "vitest";
import { installCommand, MissingAdapterError } from "../src/platforms.ts";

describe("a configured platform without its adapter", () => {
  it("names the exact install command for how the gateway was installed", () => {
    const pkg = "@switchboard/adapter-discord";
    expect(installCommand(pkg, "/usr/lib/node_modules/@switchboard/gateway/dist/platforms.js")).toBe(
      `npm install -g ${pkg}`,
    );
    expect(
      installCommand(
        pkg,
        "/home/u/.local/share/pnpm/global/5/.pnpm/@switchboard+gateway@0.1.0/node_modules/@switchboard/gateway/dist/platforms.js",
      ),
    ).toBe(`pnpm add -g ${pkg}`);
    expect(installCommand(pkg, "/srv/app/node_modules/@switchboard/gateway/dist/platforms.js")).toBe(
      `npm install ${pkg}`,
    );
    expect(
      installCommand(
        pkg,
        "/srv/app/node_modules/.pnpm/@switchboard+gateway@0.1.0/node_modules/@switchboard/gateway/dist/x.js",
      ),
    ).toBe(`pnpm add ${pkg}`);
  });

  it("suggests the right adapter for a misspelled platform instead of a package that does not exist", () => {
    const e = new MissingAdapterError("telegarm");
    expect(e.message).toContain('did you mean "telegram"?');
    expect(e.message).not.toContain("@switchboard/adapter-telegarm");
    expect(new MissingAdapterError("discord").message).toContain("@switchboard/adapter-discord");
  });
});

describe("installCommand for pnpm's global layout", () => {
  it("recognises a custom PNPM_HOME", () => {
    expect(
      installCommand(
        "@switchboard/adapter-discord",
        "/opt/pnpm-home/global/5/.pnpm/@switchboard+gateway@0.1.0/node_modules/@switchboard/gateway/dist/platforms.js",
      ),
    ).toBe("pnpm add -g @switchboard/adapter-discord");
  });
});
