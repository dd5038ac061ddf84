import type { ResetPolicy } from "../config/schema.ts";
import type { AdapterStateStore } from "../platform.ts";
import type { IdempotencyTable } from "./idempotency.ts";
import type { ImportedSession, ImportResult } from "./import.ts";
import type { AuditLog, RateBuckets, StoreProbe, UsageLedger } from "./operations-store.ts";
import type { OutboxTable } from "./outbox.ts";
import type { ChatAgentTable, PairingTable } from "./pairing-store.ts";
import type { ResponseTable } from "./responses.ts";
import type { RunTable } from "./runs.ts";
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

/** The record of a session just started: who and where it is, nothing counted or ended yet. */
export function newSessionRecord(
  fields: Omit<
    SessionRecord,
    | "startedAt"
    | "updatedAt"
    | "endedAt"
    | "endReason"
    | "messageCount"
    | "inputTokens"
    | "outputTokens"
    | "title"
  >,
  now: number,
): SessionRecord {
  return {
    ...fields,
    startedAt: now,
    updatedAt: now,
    endedAt: null,
    endReason: null,
    messageCount: 0,
    inputTokens: 0,
    outputTokens: 0,
    title: null,
  };
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

/** A stored message as `history` reads it. Read-only: a store may hand the same object to several readers. */
export interface StoredMessage {
  readonly id: number;
  readonly sessionId: string;
  readonly role: MessageRole;
  readonly content: string;
  readonly toolCalls: unknown;
  readonly toolCallId: string | null;
  readonly createdAt: number;
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
  /** Messages to append to the resulting session in the same commit (their ids are in `messageIds`). */
  append?: NewMessage[];
  /**
   * Record this inbound message as seen (`inbound`) in the same commit, for replicas: one seen before, on any
   * replica, rejects with `DuplicateInboundError` and nothing is stored. The claim keeps the session and the
   * id of the first appended message (a claim `inbound.claim` made of it before, with no session, is taken
   * over: a chat command that goes on to the agent): until `inbound.answer`, it is in the session's inbox
   * (`inbound.unanswered`), in the order the store assigned those ids. (One process on SQLite dedupes in
   * memory and passes no claim: no extra write.)
   */
  claim?: InboundKey;
}

/** `getOrCreate` with a `claim` of a message some replica already stored. */
export class DuplicateInboundError extends Error {
  override name = "DuplicateInboundError";
  constructor(key: InboundKey) {
    super(
      `${key.platform}/${key.account} message ${key.messageId} in chat ${key.chatId} was already received`,
    );
  }
}

export interface GetOrCreateResult {
  session: SessionRecord;
  /** True when this call started the session. */
  created: boolean;
  /** The session this one replaced, when the reset policy or `forceNew` ended it. */
  previous?: SessionRecord;
  /** Why a new session was started: `new` (no session yet), `idle`, `daily`, `reset`. */
  reason?: "new" | "idle" | "daily" | "reset";
  /** The ids of `options.append`, in order (empty without it). */
  messageIds: number[];
}

export interface EnsureOptions {
  model?: string;
  now?: number;
  /** Link the session to the one it was started from (a delegated turn's caller), in the same commit. */
  parentSessionId?: string;
  /** Messages to append in the same commit (their ids are in `messageIds`). */
  append?: NewMessage[];
}

export interface EnsureResult {
  session: SessionRecord;
  /** The ids of `options.append`, in order (empty without it). */
  messageIds: number[];
}

export interface AppendOptions {
  /** The turn's token usage, added to the session's totals. */
  usage?: { inputTokens: number; outputTokens: number };
  /**
   * Rewind first: remove the session's messages after this id (0: all) before appending, in the same
   * commit (an edited or regenerated tail replaced by the new one).
   */
  rewindAfter?: number;
  /**
   * Create the session first when it does not exist yet, as `ensure` would (and failing as it does when the
   * id is another agent's), in the same commit: an API turn on a new session stores it with its first reply.
   */
  create?: AppendCreate;
}

/** The session an `append` creates when it is missing (see `AppendOptions.create`). */
export interface AppendCreate {
  sessionKey: string;
  source: SessionSource;
  model?: string;
  parentSessionId?: string;
  now?: number;
}

/**
 * Named leases with an expiry: one holder at a time (cron job slots; replica leases for platform accounts).
 * Times are epoch ms; `now` defaults to the store's clock.
 */
export interface LeaseTable {
  /**
   * Take `name` for `holder` until `now + ttlMs`. True when it was free or its lease had expired; false while
   * any holder (this one included) has an unexpired lease: a slot taken once is not taken again.
   */
  acquire(name: string, holder: string, ttlMs: number, now?: number): Promise<boolean>;
  /** Extend `holder`'s lease on `name` to `now + ttlMs`. False when another holder has it (or nobody does). */
  renew(name: string, holder: string, ttlMs: number, now?: number): Promise<boolean>;
  /** Give `name` up, if `holder` has it. True when a lease was dropped. */
  release(name: string, holder: string): Promise<boolean>;
  /** Who holds `name` now (an unexpired lease), if anyone. */
  holder(name: string, now?: number): Promise<{ holder: string; expiresAt: number } | undefined>;
}

/** One inbound message as its platform identifies it (the dedupe key). */
export interface InboundKey {
  platform: string;
  account: string;
  chatId: string;
  messageId: string;
}

/**
 * Inbound messages already seen (table `inbound_seen`, primary key platform, account, chat, message id): the
 * dedupe that holds across processes and replicas, where an in-memory map holds only inside one.
 */
export interface InboundDedupe {
  /** Record `key` as seen. True the first time, whichever process asks; false for a repeat (a webhook retry). */
  claim(key: InboundKey, now?: number): Promise<boolean>;
  /** Forget what was seen before `before` (epoch ms). Resolves with how many were dropped. */
  prune(before: number): Promise<number>;
  /**
   * The session's inbox: messages claimed into it (`GetOrCreateOptions.claim`) and not answered yet, in claim
   * order (ascending `storedId`, the id the store gave the stored message), with their stored text.
   */
  unanswered(sessionId: string): Promise<UnansweredInbound[]>;
  /** Take messages out of the session's inbox (their turn answered them). Resolves with how many were in it. */
  answer(sessionId: string, storedIds: readonly number[], now?: number): Promise<number>;
  /** Sessions with a message in their inbox claimed before `before` (epoch ms): left by a replica that died. */
  stalled(before: number, limit?: number): Promise<string[]>;
}

/** A message in a session's inbox (see `InboundDedupe.unanswered`). */
export interface UnansweredInbound {
  key: InboundKey;
  sessionId: string;
  /** The stored message's id: the claim order. */
  storedId: number;
  /** The stored message's text. */
  content: string;
  /** When it was claimed (epoch ms). */
  seenAt: number;
}

/** An inbox row (`inbound_seen` joined with its stored message) as both backends read it. */
export interface InboxRow {
  platform: string;
  account: string;
  chat_id: string;
  message_id: string;
  session_id: string;
  stored_id: number | string;
  content: string;
  seen_at: number | string;
}

export function unansweredOf(r: InboxRow): UnansweredInbound {
  return {
    key: { platform: r.platform, account: r.account, chatId: r.chat_id, messageId: r.message_id },
    sessionId: r.session_id,
    storedId: Number(r.stored_id),
    content: r.content,
    seenAt: Number(r.seen_at),
  };
}

/**
 * The session store: sessions, their messages and the operations tables. Every operation is async, so a
 * network database can implement it; the SQLite implementation (`openSessionStore`) lives in
 * `sessions/sqlite/`. A write's promise resolves only once it is committed (durable), and rejects when it was
 * not; what must be atomic is one call (see the `append` options of `getOrCreate`, `ensure` and `append`), so
 * callers never depend on the order of writes they did not await. Backends may group concurrent writes into
 * one commit (SQLite does: writes made in the same turn of the event loop share one).
 */
export interface SessionStore {
  /** Where the store lives, for messages and logs: a file path, or a database URL without credentials. */
  readonly location: string;
  /** The active session of a key, started (or rolled over by the reset policy) as needed. */
  getOrCreate(
    sessionKey: string,
    source: SessionSource,
    options?: GetOrCreateOptions,
  ): Promise<GetOrCreateResult>;
  /** The active (not ended) session of a key. */
  findActive(sessionKey: string): Promise<SessionRecord | undefined>;
  get(sessionId: string): Promise<SessionRecord | undefined>;
  /**
   * Start a session with a caller-chosen id (the API server's stable ids), or return it if it exists; rejects
   * when the id belongs to another agent.
   */
  ensure(
    sessionId: string,
    sessionKey: string,
    source: SessionSource,
    options?: EnsureOptions,
  ): Promise<EnsureResult>;
  end(sessionId: string, reason: string, now?: number): Promise<void>;
  /** Set the session's model (`/model`: a label from the agent's `models`); rejects for an unknown session. */
  setModel(sessionId: string, model: string): Promise<void>;
  /**
   * Make an earlier session of a key its active one again (`/resume`): the key's active session is ended with
   * reason `resumed` and this one reopened and touched, in one commit. Rejects for an unknown session.
   */
  resume(sessionId: string, now?: number): Promise<SessionRecord>;
  /**
   * Append messages atomically (with the turn's token usage and a rewind, when given); updates
   * `message_count` and `updated_at`. Resolves with the new message ids, in order, once committed; rejects
   * (keeping nothing) for an unknown session.
   */
  append(sessionId: string, messages: NewMessage[], options?: AppendOptions): Promise<number[]>;
  addUsage(sessionId: string, usage: { inputTokens: number; outputTokens: number }): Promise<void>;
  /**
   * Remove the session's messages after `afterMessageId` (0: all of them), atomically: the tail a client
   * regenerated or edited away. Resolves with how many were removed.
   */
  rewind(sessionId: string, afterMessageId: number): Promise<number>;
  setTitle(sessionId: string, title: string): Promise<void>;
  /** Link a session to the one it was started from (a delegated turn's caller). */
  setParent(sessionId: string, parentSessionId: string): Promise<void>;
  /** The session a session was started from, if any. */
  parentOf(sessionId: string): Promise<string | undefined>;
  /** Sessions started from `sessionId` (delegated turns), oldest first. */
  children(sessionId: string): Promise<SessionRecord[]>;
  /** The last `limit` messages of a session (default 50), oldest first. */
  history(sessionId: string, limit?: number): Promise<StoredMessage[]>;
  /** Full-text search over message content, newest first; scoped to one agent when `agentId` is given. */
  search(query: string, options?: { agentId?: string; limit?: number }): Promise<SearchHit[]>;
  list(options?: { agentId?: string; limit?: number; includeEnded?: boolean }): Promise<SessionRecord[]>;
  /** Write whole sessions with their own ids, keys and times (`switchboard import`); existing ids are skipped. */
  importSessions(items: readonly ImportedSession[]): Promise<ImportResult>;
  /** Stored Responses API responses, bounded by age and bytes. */
  readonly responses: ResponseTable;
  /** Asynchronous API runs and their events, readable from every process on the store. */
  readonly runs: RunTable;
  /** `Idempotency-Key` claims and their answers, shared by the replicas on the store. */
  readonly idempotency: IdempotencyTable;
  /** Sends forwarded to the replica holding an account that sends only over its connection. */
  readonly outbox: OutboxTable;
  /** Usage rows and budget-window totals (operations). */
  readonly usage: UsageLedger;
  /** The append-only audit log. */
  readonly audit: AuditLog;
  /** Rate-limit token buckets. */
  readonly rates: RateBuckets;
  /** Named leases (cron job slots, replica leases). */
  readonly leases: LeaseTable;
  /** Strangers' pairing codes and the users operators approved (`dm_policy: pairing`). */
  readonly pairing: PairingTable;
  /** Per-chat agent overrides (`/agent <id>`). */
  readonly chatAgents: ChatAgentTable;
  /** Inbound messages already seen, by (platform, account, chat, message id). */
  readonly inbound: InboundDedupe;
  /** Shared adapter state (poll offsets, sync tokens), in stores that several replicas share (PostgreSQL). */
  readonly adapterState?: AdapterStateStore;
  /**
   * Whether a write can be made right now (lock, space, permissions), without keeping anything: `/health`
   * uses it. Waits at most `timeoutMs` (default 250) for another writer's lock.
   */
  checkWritable(timeoutMs?: number): Promise<{ ok: true } | { ok: false; reason: string }>;
  /** Can the store write, and how fast (`/health/ready`)? */
  probe(): Promise<StoreProbe>;
  /** Commit what is pending, then release the connection. Further calls reject. */
  close(): Promise<void>;
}
