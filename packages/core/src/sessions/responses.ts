/** A stored Responses API response: enough to answer `GET /v1/responses/{id}` and to continue from it. */
export interface StoredResponseRecord {
  id: string;
  /** The identity of the key that created it; no other key can read or continue it. */
  owner: string;
  agentId: string;
  /** The caller-visible session id; a continuation keeps writing to the same stored session. */
  publicSessionId: string;
  /** The whole conversation up to and including this response's output (chat messages). */
  messages: unknown[];
  /** The `response` object as returned. */
  body: Record<string, unknown>;
  /** The request's input as Responses items, oldest first (`GET /v1/responses/{id}/input_items`). */
  inputItems?: Record<string, unknown>[];
  /** Epoch ms. */
  createdAt: number;
}

/** How long and how much: both bound the table, the oldest responses go first. */
export interface ResponseRetention {
  maxAgeMs: number;
  maxBytes: number;
}

/** Stored responses in `state.db` (table `responses`), bounded by age and by total size. */
export interface ResponseTable {
  /**
   * Store a response, first dropping expired ones and, past `maxBytes`, the oldest. Returns false (and
   * stores nothing) when this one alone is larger than the whole budget.
   */
  put(record: StoredResponseRecord, retention: ResponseRetention): Promise<boolean>;
  /** The response, unless it is missing or older than `maxAgeMs`. */
  get(id: string, maxAgeMs: number): Promise<StoredResponseRecord | undefined>;
  delete(id: string): Promise<boolean>;
  /** Total stored bytes (the sum the budget is checked against). */
  bytes(): Promise<number>;
}
