import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { memoryLogger } from "@switchboard/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  DEFAULT_BOT,
  FakeTelegram,
  SECOND_BOT,
} from "../../../packages/adapter-telegram/test/fake-telegram.ts";
import { type RunningGateway, startGateway } from "../src/run.ts";
import { cli } from "./cli-helpers.ts";

/**
 * Pairing end to end: the real Telegram adapter (grammY) against the fake Bot API, a gateway with nothing
 * configured about users (so `dm_policy` defaults to `pairing`), and `switchboard pairing` run as a separate
 * CLI process against the same home while the gateway keeps running.
 */
const home = mkdtempSync(join(tmpdir(), "sb-pair-tg-"));
let fake: FakeTelegram;
let gw: RunningGateway;

beforeAll(async () => {
  fake = await FakeTelegram.start([DEFAULT_BOT, SECOND_BOT]);
  writeFileSync(
    join(home, "config.yaml"),
    `session: { debounce_s: 0 }
api_server: { enabled: false, port: 0 }
agents:
  main: {}
platforms:
  telegram:
    token: "${DEFAULT_BOT.token}"
    api_url: ${fake.url}
    poll_timeout_s: 1
    pairing: { max_pending: 2 }
    accounts:
      default: {}
      second:
        token: "${SECOND_BOT.token}"
        pairing: { code_ttl_minutes: 0.001 }
`,
  );
  gw = await startGateway({ home, logger: memoryLogger(), watchConfig: false });
});

afterAll(async () => {
  await gw?.stop();
  await fake?.close();
  rmSync(home, { recursive: true, force: true });
});

const sb = (...args: string[]) => cli(["--home", home, ...args]);
const codeIn = (text: string) => /pairing code is ([A-Z2-9]{8})/.exec(text)?.[1];

describe("pairing on Telegram with the switchboard CLI", () => {
  it("a stranger gets a code; `switchboard pairing approve` lets their next message through at once", async () => {
    await fake.inject({ chatType: "dm", chatId: "801", userId: "801", text: "hello bot" });
    const sent = await fake.waitForSent((m) => m.chatId === "801" && m.text.includes("pairing code"), 10_000);
    const code = codeIn(sent.text)!;
    expect(code).toMatch(/^[A-Z2-9]{8}$/);

    const listed = sb("pairing", "list", "--json");
    expect(listed.status, listed.stderr).toBe(0);
    const overview = JSON.parse(listed.stdout) as { pending: Array<{ code: string; userId: string }> };
    expect(overview.pending.map((r) => [r.code, r.userId])).toEqual([[code, "801"]]);

    const approved = sb("pairing", "approve", code.toLowerCase());
    expect(approved.status, approved.stderr).toBe(0);
    expect(approved.stdout).toContain("Approved telegram:801");

    await fake.inject({ chatType: "dm", chatId: "801", userId: "801", text: "am I in?" });
    const reply = await fake.waitForSent((m) => m.chatId === "801" && m.text.includes("am I in?"), 10_000);
    expect(reply.text).toContain("[main]");

    const audit = sb("audit", "--action", "pairing.approve", "--json");
    expect(JSON.parse(audit.stdout)).toEqual([
      expect.objectContaining({ action: "pairing.approve", target: "telegram:801" }),
    ]);
  });

  it("refuses an unknown or used code with a clear error, and revoke takes the approval back", async () => {
    const again = sb("pairing", "approve", "ZZZZ2222");
    expect(again.status).toBe(1);
    expect(again.stderr).toContain("no pending pairing request has the code ZZZZ2222");

    const revoked = sb("pairing", "revoke", "telegram", "801");
    expect(revoked.status, revoked.stderr).toBe(0);
    const before = fake.sent().length;
    await fake.inject({ chatType: "dm", chatId: "801", userId: "801", text: "still in?" });
    await fake.waitForSent((m) => m.chatId === "801" && m.text.includes("pairing code"), 10_000);
    expect(
      fake
        .sent()
        .slice(before)
        .some((m) => m.text.includes("still in?")),
    ).toBe(false);
  });

  it("an expired code is refused by `switchboard pairing approve`", async () => {
    // The second account's codes live 60 ms.
    await fake.inject({ account: "second", chatType: "dm", chatId: "811", userId: "811", text: "hi" });
    const sent = await fake.waitForSent((m) => m.account === "second" && m.chatId === "811", 10_000);
    await new Promise((r) => setTimeout(r, 100));
    const late = sb("pairing", "approve", codeIn(sent.text)!);
    expect(late.status).toBe(1);
    expect(late.stderr).toContain("it may have expired");
    expect(JSON.parse(sb("pairing", "list", "--json").stdout).approved).toEqual([]);
  });

  it("deny drops a code; a flood of strangers stops at max_pending", async () => {
    // 801 holds one live code (from the revoke above); 802 takes the second place; 803 finds the list full.
    await fake.inject({ chatType: "dm", chatId: "802", userId: "802", text: "me too" });
    const sent = await fake.waitForSent((m) => m.chatId === "802", 10_000);
    await fake.inject({ chatType: "dm", chatId: "803", userId: "803", text: "and me" });
    await fake.inject({ chatType: "dm", chatId: "801", userId: "801", text: "sync" });
    await fake.waitForSent((m) => m.chatId === "801" && m.text.includes("still waiting"), 10_000);
    expect(fake.sent().some((m) => m.chatId === "803")).toBe(false);

    const denied = sb("pairing", "deny", codeIn(sent.text)!);
    expect(denied.status, denied.stderr).toBe(0);
    const list = JSON.parse(sb("pairing", "list", "--json").stdout) as { pending: Array<{ userId: string }> };
    expect(list.pending.map((r) => r.userId)).toEqual(["801"]);
  });
});
