import { describe, expect, it } from "vitest";
import { Deduper, InboundGate } from "../src/gateway/inbound/gate.ts";
import { memoryLogger } from "../src/logger.ts";
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

function gateFor(account: Record<string, unknown>, options: { capacity?: number } = {}) {
  const logger = memoryLogger();
  const accounts = new Map([["chat", new Map<string, unknown>([["default", account]])]]);
  const gate = new InboundGate({
    accounts: () => accounts,
    logger,
    ...(options.capacity ? { dedupeCapacity: options.capacity } : {}),
  });
  return { gate, logger };
}

describe("inbound gate", () => {
  it("passes an allowed sender's message and turns away the bot's own", () => {
    const { gate } = gateFor({ allowed_users: [42] });
    expect(gate.check(message())).toBeUndefined();
    expect(gate.check(message({ isSelf: true }))).toBe("self");
  });

  it("takes a redelivered message once, per platform account and chat", () => {
    const { gate } = gateFor({ allow_all_users: true });
    const m = message();
    expect(gate.check(m)).toBeUndefined();
    expect(gate.check({ ...m })).toBe("duplicate");
    expect(gate.check({ ...m, chat: { id: "c2", type: "dm" } })).toBeUndefined();
  });

  it("forgets the oldest ids past its capacity", () => {
    const d = new Deduper(2);
    const [a, b, c] = [message(), message(), message()];
    expect([d.seen(a), d.seen(b), d.seen(c)]).toEqual([false, false, false]);
    expect(d.seen(c)).toBe(true);
    expect(d.seen(a)).toBe(false);
  });

  it("turns away empty messages but takes media without text", () => {
    const { gate } = gateFor({ allow_all_users: true });
    expect(gate.check(message({ text: "  \n" }))).toBe("empty");
    expect(
      gate.check(message({ text: "", media: [{ kind: "image", url: "https://example.test/a.png" }] })),
    ).toBeUndefined();
  });

  it("authorises by allowed_users, also by the alternative id, and warns once when nobody is allowed", () => {
    const { gate } = gateFor({ allowed_users: ["7", 8] });
    expect(gate.check(message({ user: { id: "7" } }))).toBeUndefined();
    expect(gate.check(message({ user: { id: "x", idAlt: "8" } }))).toBeUndefined();
    expect(gate.check(message({ user: { id: "9" } }))).toBe("unauthorized");

    const closed = gateFor({});
    expect(closed.gate.check(message())).toBe("unauthorized");
    expect(closed.gate.check(message())).toBe("unauthorized");
    const warnings = closed.logger.entries.filter((e) => e.level === "warn");
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.msg).toContain("platforms.chat.allowed_users");
  });

  it("with require_mention, takes a group message only when it mentions or answers the bot; DMs always", () => {
    const { gate } = gateFor({ allow_all_users: true, require_mention: true });
    const group = { id: "g", type: "group" as const };
    expect(gate.check(message({ chat: group }))).toBe("not-mentioned");
    expect(gate.check(message({ chat: group, mentionsBot: true }))).toBeUndefined();
    expect(gate.check(message({ chat: group, replyTo: { messageId: "1", fromBot: true } }))).toBeUndefined();
    expect(gate.check(message())).toBeUndefined();
  });

  it("checks in order: a duplicate of an unauthorised message is a duplicate", () => {
    const { gate } = gateFor({ allowed_users: ["1"] });
    const m = message();
    expect(gate.check(m)).toBe("unauthorized");
    expect(gate.check(m)).toBe("duplicate");
  });

  it("names admins from the account's admins list", () => {
    const { gate } = gateFor({ allow_all_users: true, admins: [42] });
    expect(gate.isAdmin(message())).toBe(true);
    expect(gate.isAdmin(message({ user: { id: "5" } }))).toBe(false);
  });
});
