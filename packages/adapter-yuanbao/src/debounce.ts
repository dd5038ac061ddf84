import type { InboundPush } from "./types.ts";

interface Buffered {
  pushes: InboundPush[];
  timer: NodeJS.Timeout;
}

/**
 * Yuanbao delivers one user message in several pushes (an image, then its caption). Pushes from one sender in
 * one chat are held for `windowMs` after the last of them and handed on as one: the first push's fields, the
 * bodies joined by a newline. A push seen twice in the window (same `msg_id`) is kept once.
 */
export class PushDebouncer {
  readonly #windowMs: number;
  readonly #flush: (push: InboundPush) => void;
  readonly #buffers = new Map<string, Buffered>();

  constructor(windowMs: number, flush: (push: InboundPush) => void) {
    this.#windowMs = windowMs;
    this.#flush = flush;
  }

  add(push: InboundPush): void {
    if (this.#windowMs <= 0) {
      this.#flush(push);
      return;
    }
    const key = `${push.from_account}\u0000${push.group_code}`;
    const buffered = this.#buffers.get(key);
    if (buffered) {
      clearTimeout(buffered.timer);
      const id = idOf(push);
      if (!id || !buffered.pushes.some((p) => idOf(p) === id)) buffered.pushes.push(push);
    }
    const entry = buffered ?? { pushes: [push], timer: undefined as unknown as NodeJS.Timeout };
    entry.timer = setTimeout(() => {
      this.#buffers.delete(key);
      this.#flush(merge(entry.pushes));
    }, this.#windowMs);
    this.#buffers.set(key, entry);
  }

  /** Forget everything held (the adapter is stopping). */
  clear(): void {
    for (const b of this.#buffers.values()) clearTimeout(b.timer);
    this.#buffers.clear();
  }
}

function idOf(p: InboundPush): string {
  return p.msg_id || p.msg_key;
}

function merge(pushes: InboundPush[]): InboundPush {
  const [first, ...rest] = pushes as [InboundPush, ...InboundPush[]];
  if (rest.length === 0) return first;
  const body = [...first.msg_body];
  for (const p of rest) {
    if (p.msg_body.length === 0) continue;
    body.push({ msg_type: "TIMTextElem", msg_content: { text: "\n" } }, ...p.msg_body);
  }
  return {
    ...first,
    msg_body: body,
    cloud_custom_data:
      first.cloud_custom_data || rest.find((p) => p.cloud_custom_data)?.cloud_custom_data || "",
  };
}
