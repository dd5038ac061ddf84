import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { memoryLogger } from "@switchboard/core";
import { afterEach, describe, expect, it } from "vitest";
import { DEFAULT_BOT, FakeTelegram } from "../../../packages/adapter-telegram/test/fake-telegram.ts";
import { type RunningGateway, startGateway } from "../src/run.ts";

let gw: RunningGateway | undefined;
let fake: FakeTelegram | undefined;
let home: string | undefined;
afterEach(async () => {
  await gw?.stop();
  await fake?.close();
  if (home) rmSync(home, { recursive: true, force: true });
  gw = fake = home = undefined;
});

async function readyState(url: string): Promise<{ status: number; state: string; reason?: string }> {
  const res = await fetch(`${url}/health/ready`);
  const body = (await res.json()) as { adapters: Array<{ state: string; reason?: string }> };
  return { status: res.status, ...body.adapters[0]! };
}

async function until<T>(probe: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (ok(v) || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("/health/ready with a real adapter", () => {
  it("follows the Telegram Bot API going down and coming back", async () => {
    fake = await FakeTelegram.start([DEFAULT_BOT]);
    home = mkdtempSync(join(tmpdir(), "sb-ready-"));
    writeFileSync(
      join(home, "config.yaml"),
      `api_server: { port: 0 }
platforms:
  telegram: { token: "${DEFAULT_BOT.token}", api_url: ${fake.url}, poll_timeout_s: 1, allow_all_users: true }
`,
    );
    gw = await startGateway({ home, logger: memoryLogger(), watchConfig: false });
    const url = gw.url!;
    expect(await readyState(url)).toMatchObject({ status: 200, state: "connected" });

    await fake.down();
    const down = await until(
      () => readyState(url),
      (r) => r.state === "reconnecting",
    );
    expect(down).toMatchObject({ status: 503, state: "reconnecting" });
    expect(down.reason).toBeTruthy();

    await fake.up();
    expect(
      await until(
        () => readyState(url),
        (r) => r.state === "connected",
      ),
    ).toMatchObject({
      status: 200,
      state: "connected",
    });
    await fake.inject({ chatType: "dm", chatId: "501", userId: "501", text: "still there?" });
    expect((await fake.waitForSent((m) => m.text.includes("still there?"))).text).toContain("still there?");
  }, 30_000);
});
