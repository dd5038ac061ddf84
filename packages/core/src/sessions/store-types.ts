import type { ResetPolicy } from "../config/schema.ts";
import type { ImportedSession, ImportResult } from "./import.ts";
import type { SessionSource } from "./source.ts";

export type MessageRole = "system" | "user" | "assistant" | "tool";

/** A row of `sessions`. Times are epoch milliseconds. */
export interface SessionRecord {
  id: string;
  sessionKey: string;
  agentId: string;
  platform: string | null;
  account: string | null;
  chatId: string | null;
  chatType: string | null;
  threadId: string | null;
  userId: string | null;
  model: string | null;
  startedAt: number;
  updatedAt: number;
  endedAt: number | null;
  endReason: string | null;
  messageCount: number;
  inputTokens: number;
  outputTokens: number;
  title: string | null;
}

export interface NewMessage {
  role: MessageRole;
  content: string;
  /** JSON-serializable tool calls of an assistant message. */
  toolCalls?: unknown;
  toolCallId?: string;
  /** Epoch ms; default now. */
  createdAt?: number;
}

export interface StoredMessage {
  id: number;
  sessionId: string;
  role: MessageRole;
  content: string;
  toolCalls: unknown;
  toolCallId: string | null;
  createdAt: number;
}

export interface SearchHit {
  sessionId: string;
  agentId: string;
  messageId: number;
  role: MessageRole;
  /** A short excerpt around the match. */
  snippet: string;
  createdAt: number;
}

export interface GetOrCreateOptions {
  reset?: ResetPolicy;
  /** Always start a new session (ends the current one with reason `reset`). */
  forceNew?: boolean;
  model?: string;
  now?: number;
}

export interface GetOrCreateResult {
  session: SessionRecord;
  /** True when this call started the session. */
  created: boolean;
  /** The session this one replaced, when the reset policy or `forceNew` ended it. */
  previous?: SessionRecord;
  /** Why a new session was started: `new` (no session yet), `idle`, `daily`, `reset`. */
  reason?: "new" | "idle" | "daily" | "reset";
}

/** The session store over `state.db` (see `openSessionStore`). */
export interface SessionStore {
  readonly file: string;
  /** The active session of a key, started (or rolled over by the reset policy) as needed. */
  getOrCreate(sessionKey: string, source: SessionSource, options?: GetOrCreateOptions): GetOrCreateResult;
  /** The active (not ended) session of a key. */
  findActive(sessionKey: string): SessionRecord | undefined;
  get(sessionId: string): SessionRecord | undefined;
  /** Start a session with a caller-chosen id (the API server's stable ids), or return it if it exists. */
  ensure(
    sessionId: string,
    sessionKey: string,
    source: SessionSource,
    options?: { model?: string; now?: number },
  ): SessionRecord;
  end(sessionId: string, reason: string, now?: number): void;
  /**
   * Append messages in one transaction (with the turn's token usage, when given); updates
   * `message_count` and `updated_at`. Returns the new message ids, in order.
   */
  append(
    sessionId: string,
    messages: NewMessage[],
    options?: { usage?: { inputTokens: number; outputTokens: number } },
  ): number[];
  addUsage(sessionId: string, usage: { inputTokens: number; outputTokens: number }): void;
  /**
   * Remove the session's messages after `afterMessageId` (0: all of them), in one transaction: the tail a
   * client regenerated or edited away. Returns how many were removed.
   */
  rewind(sessionId: string, afterMessageId: number): number;
  setTitle(sessionId: string, title: string): void;
  /** Link a session to the one it was started from (a delegated turn's caller). */
  setParent(sessionId: string, parentSessionId: string): void;
  /** The session a session was started from, if any. */
  parentOf(sessionId: string): string | undefined;
  /** Sessions started from `sessionId` (delegated turns), oldest first. */
  children(sessionId: string): SessionRecord[];
  /** The last `limit` messages of a session, oldest first. */
  history(sessionId: string, limit?: number): StoredMessage[];
  /** Full-text search over message content, newest first; scoped to one agent when `agentId` is given. */
  search(query: string, options?: { agentId?: string; limit?: number }): SearchHit[];
  list(options?: { agentId?: string; limit?: number; includeEnded?: boolean }): SessionRecord[];
  /** Write whole sessions with their own ids, keys and times (`switchboard import`); existing ids are skipped. */
  importSessions(items: readonly ImportedSession[]): ImportResult;
  /** Stored Responses API responses, bounded by age and bytes. */
  readonly responses: import("./responses.ts").ResponseTable;
  /**
   * Whether a write can be made right now (lock, space, permissions), without keeping anything: `/health`
   * uses it. Waits at most `timeoutMs` (default 250) for another connection's lock.
   */
  checkWritable(timeoutMs?: number): { ok: true } | { ok: false; reason: string };
  /** Usage rows and budget-window totals (operations). */
  readonly usage: import("./operations-store.ts").UsageLedger;
  /** The append-only audit log. */
  readonly audit: import("./operations-store.ts").AuditLog;
  /** Rate-limit token buckets. */
  readonly rates: import("./operations-store.ts").RateBuckets;
  /** Can the store write, and how fast (`/health/ready`)? */
  probe(): import("./operations-store.ts").StoreProbe;
  /** The underlying better-sqlite3 database (cron leases live in the same file). */
  readonly db: import("better-sqlite3").Database;
  close(): void;
}
