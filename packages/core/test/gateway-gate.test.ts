import { describe, expect, it } from "vitest";
import { Deduper, InboundGate } from "../src/gateway/inbound/gate.ts";
import { memoryLogger } from "../src/logger.ts";
import { dmPolicyOf } from "../src/pairing/policy.ts";
import type { InboundMessage } from "../src/platform.ts";

let seq = 0;
function message(extra: Partial<InboundMessage> = {}): InboundMessage {
  return {
    platform: "chat",
    account: "default",
    messageId: `m${++seq}`,
    chat: { id: "c1", type: "dm" },
    user: { id: "42" },
    text: "hello",
    ...extra,
  };
}

function gateFor(
  account: Record<string, unknown>,
  options: { capacity?: number; approved?: Set<string> } = {},
) {
  const logger = memoryLogger();
  const accounts = new Map([["chat", new Map<string, unknown>([["default", account]])]]);
  const approved = options.approved;
  const gate = new InboundGate({
    accounts: () => accounts,
    logger,
    ...(options.capacity ? { dedupeCapacity: options.capacity } : {}),
    // Approvals as the store answers them: `platform/account/user` ids.
    ...(approved ? { approvals: { isApproved: async (p, a, u) => approved.has(`${p}/${a}/${u}`) } } : {}),
  });
  return { gate, logger };
}

describe("inbound gate", () => {
  it("passes an allowed sender's message and turns away the bot's own", async () => {
    const { gate } = gateFor({ allowed_users: [42] });
    expect(await gate.check(message())).toBeUndefined();
    expect(await gate.check(message({ isSelf: true }))).toBe("self");
  });

  it("takes a redelivered message once, per platform account and chat", async () => {
    const { gate } = gateFor({ allow_all_users: true });
    const m = message();
    expect(await gate.check(m)).toBeUndefined();
    expect(await gate.check({ ...m })).toBe("duplicate");
    expect(await gate.check({ ...m, chat: { id: "c2", type: "dm" } })).toBeUndefined();
  });

  it("forgets the oldest ids past its capacity", async () => {
    const d = new Deduper(2);
    const [a, b, c] = [message(), message(), message()];
    expect([d.seen(a), d.seen(b), d.seen(c)]).toEqual([false, false, false]);
    expect(d.seen(c)).toBe(true);
    expect(d.seen(a)).toBe(false);
  });

  it("turns away empty messages but takes media without text", async () => {
    const { gate } = gateFor({ allow_all_users: true });
    expect(await gate.check(message({ text: "  \n" }))).toBe("empty");
    expect(
      await gate.check(message({ text: "", media: [{ kind: "image", url: "https://example.test/a.png" }] })),
    ).toBeUndefined();
  });

  it("authorises by allowed_users, also by the alternative id, and warns once when nobody is allowed", async () => {
    const { gate } = gateFor({ allowed_users: ["7", 8] });
    expect(await gate.check(message({ user: { id: "7" } }))).toBeUndefined();
    expect(await gate.check(message({ user: { id: "x", idAlt: "8" } }))).toBeUndefined();
    expect(await gate.check(message({ user: { id: "9" } }))).toBe("unauthorized");

    const closed = gateFor({});
    expect(await closed.gate.check(message())).toBe("unauthorized");
    expect(await closed.gate.check(message())).toBe("unauthorized");
    const warnings = closed.logger.entries.filter((e) => e.level === "warn");
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.msg).toContain("platforms.chat.allowed_users");
  });

  it("with require_mention, takes a group message only when it mentions or answers the bot; DMs always", async () => {
    const { gate } = gateFor({ allow_all_users: true, require_mention: true });
    const group = { id: "g", type: "group" as const };
    expect(await gate.check(message({ chat: group }))).toBe("not-mentioned");
    expect(await gate.check(message({ chat: group, mentionsBot: true }))).toBeUndefined();
    expect(
      await gate.check(message({ chat: group, replyTo: { messageId: "1", fromBot: true } })),
    ).toBeUndefined();
    expect(await gate.check(message())).toBeUndefined();
  });

  it("checks in order: a duplicate of an unauthorised message is a duplicate", async () => {
    const { gate } = gateFor({ allowed_users: ["1"] });
    const m = message();
    expect(await gate.check(m)).toBe("unauthorized");
    expect(await gate.check(m)).toBe("duplicate");
  });

  it("names admins from the account's admins list", async () => {
    const { gate } = gateFor({ allow_all_users: true, admins: [42] });
    expect(gate.isAdmin(message())).toBe(true);
    expect(gate.isAdmin(message({ user: { id: "5" } }))).toBe(false);
  });

  it("defaults dm_policy from what is configured: pairing with nothing, deny with allowed_users, open with allow_all_users", () => {
    expect(dmPolicyOf(undefined)).toBe("pairing");
    expect(dmPolicyOf({})).toBe("pairing");
    expect(dmPolicyOf({ allowed_users: [] })).toBe("pairing");
    expect(dmPolicyOf({ allowed_users: ["1"] })).toBe("deny");
    expect(dmPolicyOf({ allow_all_users: true })).toBe("open");
    expect(dmPolicyOf({ allowed_users: ["1"], dm_policy: "pairing" })).toBe("pairing");
  });

  it("sends a stranger's DM to pairing, refuses them in groups, and passes approved users everywhere", async () => {
    const approved = new Set(["chat/default/77"]);
    const { gate } = gateFor({}, { approved });
    expect(await gate.check(message({ user: { id: "5" } }))).toBe("pairing");
    expect(await gate.check(message({ user: { id: "5" }, chat: { id: "g", type: "group" } }))).toBe(
      "unauthorized",
    );
    expect(await gate.check(message({ user: { id: "77" } }))).toBeUndefined();
    expect(
      await gate.check(message({ user: { id: "77" }, chat: { id: "g", type: "group" } })),
    ).toBeUndefined();
    expect(await gate.tier(message({ user: { id: "77" } }))).toBe("paired");
    // An approval belongs to one platform account: on another, 77 is a stranger again.
    expect(await gate.tier(message({ user: { id: "77" }, account: "work" }))).toBe("stranger");

    const denyAll = gateFor({ dm_policy: "deny" }, { approved });
    expect(await denyAll.gate.check(message({ user: { id: "5" } }))).toBe("unauthorized");
    expect(await denyAll.gate.check(message({ user: { id: "77" } }))).toBeUndefined();
    const open = gateFor({ allowed_users: ["1"], dm_policy: "open" });
    expect(await open.gate.check(message({ user: { id: "5" } }))).toBeUndefined();
  });

  it("ranks tiers: admin, then allowed, then paired, then stranger; admins always pass", async () => {
    const { gate } = gateFor(
      { allowed_users: ["1"], admins: ["9"] },
      { approved: new Set(["chat/default/2"]) },
    );
    expect(await gate.tier(message({ user: { id: "9" } }))).toBe("admin");
    expect(await gate.check(message({ user: { id: "9" } }))).toBeUndefined();
    expect(await gate.tier(message({ user: { id: "1" } }))).toBe("allowed");
    expect(await gate.tier(message({ user: { id: "2" } }))).toBe("paired");
    expect(await gate.tier(message({ user: { id: "3" } }))).toBe("stranger");
  });
});
