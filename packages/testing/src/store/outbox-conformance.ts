import type { SessionStore } from "@switchboard/core";
import { describe, expect, it } from "vitest";

export interface OutboxCaseDeps {
  fresh(): Promise<{ store: SessionStore; location: string }>;
  reopen(location: string): Promise<SessionStore>;
  now(): number;
  advance(ms: number): void;
}

const to = (chatId: string, account = "default") => ({ platform: "yuanbao", account, chatId });

/** The outbox (`store.outbox`): sends a standby forwards to the account's holder, seen from two stores. */
export function outboxCases(deps: OutboxCaseDeps): void {
  describe("outbox", () => {
    it("put on one store, taken once in order on another, again only once stale, gone when done", async () => {
      const { store, location } = await deps.fresh();
      const holder = await deps.reopen(location);
      const first = await store.outbox.put({
        address: to("c1"),
        text: "one",
        message: { format: "markdown" },
      });
      await store.outbox.put({ address: to("c2"), text: "two", message: {} });
      await store.outbox.put({ address: to("c3", "other"), text: "elsewhere", message: {} });
      const taken = await holder.outbox.take("yuanbao", "default", "a", 10, 30_000);
      expect(taken.map((i) => [i.text, i.address.chatId])).toEqual([
        ["one", "c1"],
        ["two", "c2"],
      ]);
      expect(taken[0]).toMatchObject({ id: first, message: { format: "markdown" }, createdAt: deps.now() });
      // Taken: not handed out again until stale.
      expect(await store.outbox.take("yuanbao", "default", "b", 10, 30_000)).toEqual([]);
      await holder.outbox.done(first);
      deps.advance(30_000);
      expect((await store.outbox.take("yuanbao", "default", "b", 10, 30_000)).map((i) => i.text)).toEqual([
        "two",
      ]);
      expect((await store.outbox.take("yuanbao", "other", "b", 1, 30_000)).map((i) => i.text)).toEqual([
        "elsewhere",
      ]);
    });
  });
}
