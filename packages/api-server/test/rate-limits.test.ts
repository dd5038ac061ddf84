import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type StubLlm, startStubLlm } from "@switchboard/testing";
import { afterEach, describe, expect, it } from "vitest";
import { baseConfig, complete, startWorld, USER_KEY, type World } from "./operate-world.ts";

const worlds: World[] = [];
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const w of worlds.splice(0)) await w.close();
  for (const c of cleanups.splice(0)) await c();
});

describe("rate limits", () => {
  it("holds a key's requests per minute across a restart (the buckets live in the SQLite file)", async () => {
    const home = mkdtempSync(join(tmpdir(), "sb-rate-"));
    const stub: StubLlm = await startStubLlm();
    cleanups.push(
      () => stub.close(),
      () => rmSync(home, { recursive: true, force: true }),
    );
    const config = (url: string) => baseConfig(url, { rate_limits: { per_key: { requests_per_minute: 2 } } });

    const first = await startWorld(config, { home, stub, keepHome: true });
    expect((await complete(first, USER_KEY, "1")).status).toBe(200);
    expect((await complete(first, USER_KEY, "2")).status).toBe(200);
    const limited = await complete(first, USER_KEY, "3");
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(((await limited.json()) as { error: { code: string } }).error.code).toBe("rate_limit_exceeded");
    await first.close();

    // A new process on the same state.db: the bucket is still empty.
    const second = await startWorld(config, { home, stub, keepHome: true });
    worlds.push(second);
    const after = await complete(second, USER_KEY, "4");
    expect(after.status).toBe(429);
    expect(Number(after.headers.get("retry-after"))).toBeLessThanOrEqual(30);
    expect(stub.requests).toHaveLength(2);
  });

  it("limits concurrent turns of a key", async () => {
    const w = await startWorld((url) =>
      baseConfig(url, { rate_limits: { per_key: { concurrent_turns: 1 } } }),
    );
    worlds.push(w);
    w.stub.script({ text: "slow", delayMs: 300 });
    const slow = complete(w, USER_KEY, "a", "u1");
    await w.stub.waitFor(() => w.stub.requests.length === 1);
    const second = await complete(w, USER_KEY, "b", "u2");
    expect(second.status).toBe(429);
    expect(second.headers.get("retry-after")).toBe("1");
    expect((await slow).status).toBe(200);
    expect((await complete(w, USER_KEY, "c", "u3")).status).toBe(200);
  });

  it("tells a chat user once, not once per message, and drops the messages over the limit", async () => {
    const w = await startWorld((url) =>
      baseConfig(url, { rate_limits: { per_user: { requests_per_minute: 1 } } }),
    );
    worlds.push(w);
    expect(await w.chat("u-9", "hi")).toBe("stub: hi");
    for (let i = 0; i < 4; i++)
      await w.net.inject({
        chatId: "dm-u-9",
        chatType: "dm",
        userId: "u-9",
        text: `flood ${i}`,
        messageId: `f${i}`,
      });
    await w.gateway.idle();
    await new Promise((r) => setTimeout(r, 50));
    const notices = w.net.sent().filter((m) => m.text.startsWith("⚠️ Slow down"));
    expect(notices).toHaveLength(1);
    expect(notices[0]!.text).toMatch(/1 requests per minute are allowed; try again in \d+ s/);
    expect(w.stub.requests).toHaveLength(1);
    // Another user is not affected.
    expect(await w.chat("u-10", "hello")).toBe("stub: hello");
  });
});
