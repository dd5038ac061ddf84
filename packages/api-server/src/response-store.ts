import type { ApiServerConfig, ChatMessage, ResponseRetention, ResponseTable } from "@switchboard/core";

/** A stored Responses API response: enough to answer `GET /v1/responses/{id}` and to continue from it. */
export interface StoredResponse {
  id: string;
  /** The identity of the key that created it; no other key can read or continue it. */
  owner: string;
  agentId: string;
  /** The caller-visible session id; the continuation keeps writing to the same stored session. */
  publicSessionId: string;
  /** The whole conversation up to and including this response's output. */
  messages: ChatMessage[];
  /** The `response` object as returned. */
  body: Record<string, unknown>;
  /** The request's input as items (`GET /v1/responses/{id}/input_items`), oldest first. */
  inputItems?: Record<string, unknown>[];
}

const DAY_MS = 86_400_000;

/** The limits of `api_server.responses`. */
export function retentionOf(settings: ApiServerConfig): ResponseRetention {
  return { maxAgeMs: settings.responses.retention_days * DAY_MS, maxBytes: settings.responses.max_bytes };
}

/** Responses in `state.db` (they survive a restart), read through the owner check and the current limits. */
export class ResponseStore {
  readonly #table: () => ResponseTable;
  readonly #settings: () => ApiServerConfig;

  constructor(table: () => ResponseTable, settings: () => ApiServerConfig) {
    this.#table = table;
    this.#settings = settings;
  }

  /** The response if `owner` may see it (a foreign response is simply not found). */
  async get(id: string, owner: string): Promise<StoredResponse | undefined> {
    const r = await this.#table().get(id, retentionOf(this.#settings()).maxAgeMs);
    if (!r || r.owner !== owner) return undefined;
    return { ...r, messages: r.messages as ChatMessage[] };
  }

  /** Store a response; false when it alone is larger than `api_server.responses.max_bytes`. */
  put(item: StoredResponse): Promise<boolean> {
    return this.#table().put({ ...item, createdAt: Date.now() }, retentionOf(this.#settings()));
  }

  delete(id: string): Promise<boolean> {
    return this.#table().delete(id);
  }
}
