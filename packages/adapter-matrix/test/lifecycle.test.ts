import { AuthError } from "@switchboard/core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { MatrixAdapter } from "../src/index.ts";
import { FakeHomeserver } from "./fake-homeserver.ts";
import { type Harness, startAdapter } from "./helpers.ts";

const ALICE = "@alice:fake.local";
let fake: FakeHomeserver;
let adapters: MatrixAdapter[] = [];

async function start(account = "default", overrides = {}): Promise<Harness> {
  const h = await startAdapter(fake, account, overrides);
  adapters.push(h.adapter);
  return h;
}

beforeEach(async () => {
  fake = await FakeHomeserver.start();
});
afterEach(async () => {
  for (const a of adapters) await a.stop();
  adapters = [];
  await fake.close();
});

describe("login", () => {
  it("logs in with a password when no access token is set, reusing the configured device", async () => {
    const h = await start("default", {
      access_token: undefined,
      password: "pw-default",
      device_id: "SWITCHBOARD",
    });
    const login = fake.requests.find((r) => r.path.endsWith("/login") && r.method === "POST");
    expect(login?.body).toMatchObject({
      type: "m.login.password",
      identifier: { type: "m.id.user", user: fake.bot().userId },
      password: "pw-default",
      device_id: "SWITCHBOARD",
    });
    await fake.inject({ chatType: "dm", chatId: "!pw:fake.local", userId: ALICE, text: "hi" });
    expect((await h.next()).text).toBe("hi");
    expect(fake.requests.filter((r) => r.path.endsWith("/sync")).every((r) => r.account === "default")).toBe(
      true,
    );
  });

  it("fails to start with an AuthError on a wrong password or a token of another user", async () => {
    await expect(
      startAdapter(fake, "default", { access_token: undefined, password: "nope" }),
    ).rejects.toBeInstanceOf(AuthError);
    const err = await startAdapter(fake, "default", { access_token: fake.bot("second").accessToken }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(AuthError);
    expect((err as Error).message).toContain(`belongs to ${fake.bot("second").userId}`);
    await expect(startAdapter(fake, "default", { access_token: "forged" })).rejects.toThrow(
      /M_UNKNOWN_TOKEN/,
    );
  });
});

describe("invites", () => {
  it("joins a room when an allowed user invites the bot, and not when a stranger does", async () => {
    const h = await start();
    fake.rooms.create({ id: "!invited:fake.local", creator: ALICE, name: "Team" });
    fake.rooms.create({ id: "!spam:fake.local", creator: "@stranger:fake.local" });
    fake.rooms.invite("!spam:fake.local", fake.bot().userId, "@stranger:fake.local");
    fake.rooms.invite("!invited:fake.local", fake.bot().userId, ALICE);
    await fake.waitForRequest(
      (r) => r.method === "POST" && decodeURIComponent(r.path).endsWith("/join/!invited:fake.local"),
    );
    expect(fake.rooms.membership("!invited:fake.local", fake.bot().userId)).toBe("join");
    await fake.delivered();
    expect(fake.requests.some((r) => decodeURIComponent(r.path).includes("!spam:fake.local"))).toBe(false);
    expect(
      h.log.entries.some(
        (e) =>
          e.msg.includes("not allowed") && (e.obj as { inviter?: string }).inviter === "@stranger:fake.local",
      ),
    ).toBe(true);

    fake.deliverRaw("default", "!invited:fake.local", {
      type: "m.room.message",
      sender: ALICE,
      content: { msgtype: "m.text", body: "welcome" },
    });
    expect(await h.next()).toMatchObject({
      chat: { id: "!invited:fake.local", type: "dm" },
      text: "welcome",
    });
  });

  it("does not join when auto_join is off", async () => {
    const h = await start("default", { auto_join: false });
    fake.rooms.create({ id: "!r:fake.local", creator: ALICE });
    fake.rooms.invite("!r:fake.local", fake.bot().userId, ALICE);
    await fake.delivered();
    await fake.delivered();
    expect(fake.requests.some((r) => r.path.includes("/join"))).toBe(false);
    expect(h.log.entries.some((e) => e.msg.includes("auto_join is off"))).toBe(true);
  });
});

describe("encrypted rooms", () => {
  it("logs once and posts one plain notice, then keeps serving other rooms", async () => {
    const h = await start();
    const bot = fake.bot().userId;
    fake.rooms.create({ id: "!e2e:fake.local", creator: ALICE, encrypted: true, members: [{ userId: bot }] });
    const encrypted = {
      type: "m.room.encrypted",
      sender: ALICE,
      content: { algorithm: "m.megolm.v1.aes-sha2", ciphertext: "AwgAEpAB", session_id: "s", device_id: "D" },
    };
    fake.deliverRaw("default", "!e2e:fake.local", encrypted);
    fake.deliverRaw("default", "!e2e:fake.local", encrypted);
    const notice = await fake.waitForSent((s) => s.chatId === "!e2e:fake.local");
    expect(notice.raw).toMatchObject({ msgtype: "m.notice", body: expect.stringContaining("encrypted") });
    expect(notice.raw).not.toHaveProperty("format");
    fake.deliverRaw("default", "!e2e:fake.local", encrypted);
    await fake.inject({ chatType: "dm", chatId: "!plain:fake.local", userId: ALICE, text: "still there?" });
    expect((await h.next()).text).toBe("still there?");
    await fake.delivered();
    expect(fake.sent().filter((s) => s.chatId === "!e2e:fake.local")).toHaveLength(1);
    expect(
      h.log.entries.filter((e) => e.level === "warn" && e.msg.includes("end-to-end encrypted")),
    ).toHaveLength(1);
    expect(h.inbound).toHaveLength(1);
  });

  it("posts no notice when the sender is not allowed", async () => {
    const h = await start();
    fake.rooms.create({
      id: "!e2e2:fake.local",
      creator: "@stranger:fake.local",
      encrypted: true,
      members: [{ userId: fake.bot().userId }],
    });
    fake.deliverRaw("default", "!e2e2:fake.local", {
      type: "m.room.encrypted",
      sender: "@stranger:fake.local",
      content: { algorithm: "m.megolm.v1.aes-sha2", ciphertext: "x" },
    });
    await fake.delivered();
    expect(fake.sent()).toHaveLength(0);
    expect(h.log.entries.some((e) => e.msg.includes("end-to-end encrypted"))).toBe(true);
  });
});

describe("accounts and shutdown", () => {
  it("runs two accounts side by side, each receiving and replying as itself", async () => {
    const one = await start("default");
    const two = await start("second");
    await fake.inject({
      account: "default",
      chatType: "dm",
      chatId: "!d1:fake.local",
      userId: ALICE,
      text: "to one",
    });
    await fake.inject({
      account: "second",
      chatType: "dm",
      chatId: "!d2:fake.local",
      userId: ALICE,
      text: "to two",
    });
    expect(await one.next()).toMatchObject({
      account: "default",
      text: "to one",
      chat: { id: "!d1:fake.local" },
    });
    expect(await two.next()).toMatchObject({
      account: "second",
      text: "to two",
      chat: { id: "!d2:fake.local" },
    });
    await two.adapter.send(
      { platform: "matrix", account: "second", chatId: "!d2:fake.local" },
      { text: "from two" },
    );
    expect(fake.sent()).toEqual([
      expect.objectContaining({ account: "second", chatId: "!d2:fake.local", text: "from two" }),
    ]);
    await fake.delivered("default");
    await fake.delivered("second");
    expect(one.inbound).toHaveLength(1);
    expect(two.inbound).toHaveLength(1);
  });

  it("stop() ends the sync loop and leaves no open handles or timers", async () => {
    await new Promise((r) => setTimeout(r, 20));
    const before = resources();
    const h = await startAdapter(fake);
    await fake.inject({ chatType: "dm", chatId: "!bye:fake.local", userId: ALICE, text: "hi" });
    await h.next();
    await h.adapter.send(
      { platform: "matrix", account: "default", chatId: "!bye:fake.local" },
      { text: "bye" },
    );
    await h.adapter.typing({ platform: "matrix", account: "default", chatId: "!bye:fake.local" });
    expect(resources().length).toBeGreaterThan(before.length);
    await h.adapter.stop();
    // Closed sockets leave the handle list a few ticks later; the SDK's stray timers would stay 80 s.
    const deadline = Date.now() + 1_000;
    while (extra(resources(), before).length && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 10));
    expect(extra(resources(), before)).toEqual([]);
    const syncs = fake.requests.filter((r) => r.path.endsWith("/sync")).length;
    await new Promise((r) => setTimeout(r, 100));
    expect(fake.requests.filter((r) => r.path.endsWith("/sync")).length).toBe(syncs);
  });
});

/** Handles and timers keeping the process alive (vitest's own included). */
function resources(): string[] {
  return process.getActiveResourcesInfo().filter((r) => r !== "Immediate");
}

/** What `now` holds beyond `baseline`, counting each resource type. */
function extra(now: string[], baseline: string[]): string[] {
  const left = [...baseline];
  return now.filter((r) => {
    const i = left.indexOf(r);
    if (i === -1) return true;
    left.splice(i, 1);
    return false;
  });
}
