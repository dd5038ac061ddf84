import { describe, expect, it } from "vitest";
import { commandOf, restoreEnvironment, runtimeTuning } from "../bin/runtime-tuning.js";

describe("runtime tuning of `switchboard run`", () => {
  it("adds the semi-space cap and glibc's mmap threshold, keeping the operator's tunables", () => {
    const t = runtimeTuning(
      [],
      { GLIBC_TUNABLES: "glibc.malloc.arena_max=2", PATH: "/bin" },
      { glibc: true },
    );
    expect(t?.flags).toEqual(["--max-semi-space-size=8"]);
    expect(t?.env.GLIBC_TUNABLES).toBe("glibc.malloc.arena_max=2:glibc.malloc.mmap_threshold=8192");
    expect(t?.env.PATH).toBe("/bin");
    // The tuned process runs once: a second look changes nothing.
    expect(runtimeTuning([], t!.env, { glibc: true })).toBeUndefined();
  });

  it("leaves what the operator chose, and everything when turned off", () => {
    expect(runtimeTuning(["--max-semi-space-size=64"], {}, { glibc: false })).toBeUndefined();
    expect(runtimeTuning([], { NODE_OPTIONS: "--max-heap-size=512" }, { glibc: false })).toBeUndefined();
    const own = runtimeTuning([], { GLIBC_TUNABLES: "glibc.malloc.mmap_threshold=65536" }, { glibc: true });
    expect(own?.env.GLIBC_TUNABLES).toBe("glibc.malloc.mmap_threshold=65536");
    expect(runtimeTuning([], { SWITCHBOARD_RUNTIME_TUNING: "off" }, { glibc: true })).toBeUndefined();
    // Not glibc (musl, macOS): only the V8 flag.
    expect(runtimeTuning([], {}, { glibc: false })?.env.GLIBC_TUNABLES).toBeUndefined();
  });

  it("gives child processes the environment the operator started the gateway with", () => {
    for (const before of [{}, { GLIBC_TUNABLES: "glibc.malloc.arena_max=2" }]) {
      const env: Record<string, string | undefined> = { ...runtimeTuning([], before, { glibc: true })!.env };
      restoreEnvironment(env);
      expect(env).toEqual(before);
    }
  });

  it("finds the command after the global options", () => {
    expect(commandOf(["run"])).toBe("run");
    expect(commandOf(["--home", "/srv/sb", "--json", "run", "--config", "x"])).toBe("run");
    expect(commandOf(["--config", "run", "agents", "list"])).toBe("agents");
    expect(commandOf(["--version"])).toBeUndefined();
  });
});
