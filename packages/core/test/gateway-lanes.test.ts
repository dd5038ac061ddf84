import { describe, expect, it } from "vitest";
import { Lanes, type PendingMessage } from "../src/gateway/lanes.ts";
import type { SessionRecord } from "../src/sessions/store-types.ts";

const session = { id: "s1", sessionKey: "k" } as SessionRecord;

function pending(text: string): PendingMessage {
  return {
    inbound: {
      platform: "chat",
      account: "default",
      messageId: text,
      chat: { id: "c", type: "dm" },
      user: { id: "1" },
      text,
    },
    session,
    ids: [],
    routed: { startedAt: 0, durationMs: 0, by: "default" },
  };
}

/** A promise and the function that resolves it. */
function gate(): { opened: Promise<void>; open: () => void } {
  let open!: () => void;
  const opened = new Promise<void>((r) => {
    open = r;
  });
  return { opened, open };
}

describe("session lanes", () => {
  it("runs one batch at a time; what arrives meanwhile forms the next batch", async () => {
    const lanes = new Lanes();
    const batches: string[][] = [];
    const first = gate();
    const run = async (batch: PendingMessage[]) => {
      batches.push(batch.map((p) => p.inbound.text));
      if (batches.length === 1) await first.opened;
    };
    lanes.enqueue("k", pending("a"));
    const draining = lanes.drain("k", run);
    expect(lanes.running("k")).toBe(true);
    lanes.enqueue("k", pending("b"));
    lanes.enqueue("k", pending("c"));
    // A second drain while one runs returns at once; the running drain takes the new messages.
    await lanes.drain("k", run);
    expect(batches).toEqual([["a"]]);
    first.open();
    await draining;
    expect(batches).toEqual([["a"], ["b", "c"]]);
    expect(lanes.get("k")).toBeUndefined();
    await lanes.idle();
  });

  it("keeps other sessions apart", async () => {
    const lanes = new Lanes();
    const seen: string[] = [];
    const slow = gate();
    lanes.enqueue("x", pending("x1"));
    lanes.enqueue("y", pending("y1"));
    const x = lanes.drain("x", async (b) => {
      await slow.opened;
      seen.push(...b.map((p) => p.inbound.text));
    });
    await lanes.drain("y", async (b) => {
      seen.push(...b.map((p) => p.inbound.text));
    });
    expect(seen).toEqual(["y1"]);
    slow.open();
    await x;
    expect(seen).toEqual(["y1", "x1"]);
  });

  it("starts programmatic turns in the order they joined, each after the one before left", async () => {
    const lanes = new Lanes();
    const a = lanes.join("k");
    const b = lanes.join("k");
    const c = lanes.join("k");
    expect([a.first, b.first, c.first]).toEqual([true, false, false]);
    const order: string[] = [];
    const bStarted = b.previous.then(() => order.push("b"));
    const cStarted = c.previous.then(() => order.push("c"));
    await a.previous;
    order.push("a");
    // Nothing after `a` starts until `a` leaves.
    await new Promise((r) => setTimeout(r, 5));
    expect(order).toEqual(["a"]);
    a.leave();
    await bStarted;
    expect(order).toEqual(["a", "b"]);
    b.leave();
    await cStarted;
    c.leave();
    expect(order).toEqual(["a", "b", "c"]);
    expect(lanes.get("k")).toBeUndefined();
    await lanes.idle();
  });

  it("counts work in flight: idle waits for every turn and drain", async () => {
    const lanes = new Lanes();
    const place = lanes.join("k");
    let idle = false;
    const waiting = lanes.idle().then(() => {
      idle = true;
    });
    await new Promise((r) => setTimeout(r, 5));
    expect(idle).toBe(false);
    place.leave();
    await waiting;
    expect(idle).toBe(true);
  });

  it("stop aborts the running turn with its reason and drops what is queued behind it", async () => {
    const lanes = new Lanes();
    expect(lanes.stop("k", new Error("stopped"))).toBe(false);
    const held = gate();
    let signal: AbortSignal | undefined;
    const batches: number[] = [];
    lanes.enqueue("k", pending("a"));
    const draining = lanes.drain("k", async (batch, lane) => {
      batches.push(batch.length);
      const controller = new AbortController();
      lane.controller = controller;
      signal = controller.signal;
      await held.opened;
      lane.controller = undefined;
    });
    lanes.enqueue("k", pending("b"));
    expect(lanes.stop("k", new Error("stopped by /stop"))).toBe(true);
    expect(signal?.aborted).toBe(true);
    expect((signal?.reason as Error | undefined)?.message).toBe("stopped by /stop");
    held.open();
    await draining;
    expect(batches).toEqual([1]);
  });
});
