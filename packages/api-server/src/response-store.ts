import type { ChatMessage } from "@switchboard/core";

/** A stored Responses API response: enough to answer `GET /v1/responses/{id}` and to continue from it. */
export interface StoredResponse {
  id: string;
  /** The key that created it; no other key can read or continue it. */
  owner: string;
  agentId: string;
  /** The caller-visible session id; the continuation keeps writing to the same stored session. */
  publicSessionId: string;
  /** The whole conversation up to and including this response's output (earlier arrays are shared, not copied per message). */
  messages: ChatMessage[];
  /** The `response` object as returned. */
  body: Record<string, unknown>;
  /** The request's input as items (`GET /v1/responses/{id}/input_items`), oldest first. */
  inputItems?: Record<string, unknown>[];
}

export const DEFAULT_RESPONSE_CAPACITY = 1000;

/** An in-memory LRU of responses; the transcript itself also lives in the session store. */
export class ResponseStore {
  readonly #items = new Map<string, StoredResponse>();
  readonly #capacity: number;

  constructor(capacity = DEFAULT_RESPONSE_CAPACITY) {
    this.#capacity = capacity;
  }

  /** The response if `owner` may see it (a foreign response is simply not found). */
  get(id: string, owner: string): StoredResponse | undefined {
    const item = this.#items.get(id);
    if (!item || item.owner !== owner) return undefined;
    this.#items.delete(id);
    this.#items.set(id, item);
    return item;
  }

  put(item: StoredResponse): void {
    this.#items.delete(item.id);
    this.#items.set(item.id, item);
    while (this.#items.size > this.#capacity) {
      const oldest = this.#items.keys().next().value;
      if (oldest === undefined) break;
      this.#items.delete(oldest);
    }
  }

  delete(id: string): boolean {
    return this.#items.delete(id);
  }

  get size(): number {
    return this.#items.size;
  }

  clear(): void {
    this.#items.clear();
  }
}
