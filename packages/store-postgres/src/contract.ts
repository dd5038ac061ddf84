/**
 * TEMPORARY: the async store contract as the `store` branch defines it (core `sessions/store-types.ts`),
 * copied until that branch lands in main; then these names come from `@switchboard/core` and this file goes.
 */
import type {
  AuditEntry,
  GetOrCreateOptions as BaseGetOrCreateOptions,
  GetOrCreateResult as BaseGetOrCreateResult,
  ImportedSession,
  ImportResult,
  NewMessage,
  ResponseRetention,
  SearchHit,
  SessionRecord,
  SessionSource,
  StoredMessage,
  StoredResponseRecord,
  StoreProbe,
  UsageQuery,
  UsageRecord,
  UsageSummaryRow,
  WindowTotal,
} from "@switchboard/core";

export interface GetOrCreateOptions extends BaseGetOrCreateOptions {
  append?: NewMessage[];
}
export interface GetOrCreateResult extends BaseGetOrCreateResult {
  messageIds: number[];
}
export interface EnsureOptions {
  model?: string;
  now?: number;
  parentSessionId?: string;
  append?: NewMessage[];
}
export interface EnsureResult {
  session: SessionRecord;
  messageIds: number[];
}
export interface AppendOptions {
  usage?: { inputTokens: number; outputTokens: number };
  rewindAfter?: number;
}

export interface ResponseTable {
  put(record: StoredResponseRecord, retention: ResponseRetention): Promise<boolean>;
  get(id: string, maxAgeMs: number): Promise<StoredResponseRecord | undefined>;
  delete(id: string): Promise<boolean>;
  bytes(): Promise<number>;
}

export interface UsageLedger {
  record(row: UsageRecord, scopes: readonly string[]): Promise<void>;
  total(scope: string, window: string): Promise<WindowTotal>;
  summary(query?: UsageQuery): Promise<UsageSummaryRow[]>;
}

export interface AuditLog {
  append(entry: {
    actor: string;
    action: string;
    target?: string;
    detail?: unknown;
    at?: number;
    onceKey?: string;
  }): Promise<boolean>;
  list(options?: { since?: number; action?: string; limit?: number }): Promise<AuditEntry[]>;
}

export interface RateBuckets {
  take(bucket: string, capacity: number, perMs: number, now: number): Promise<number>;
}

export interface LeaseTable {
  acquire(name: string, holder: string, ttlMs: number, now?: number): Promise<boolean>;
  renew(name: string, holder: string, ttlMs: number, now?: number): Promise<boolean>;
  release(name: string, holder: string): Promise<boolean>;
  holder(name: string, now?: number): Promise<{ holder: string; expiresAt: number } | undefined>;
}

export interface SessionStore {
  readonly location: string;
  getOrCreate(
    sessionKey: string,
    source: SessionSource,
    options?: GetOrCreateOptions,
  ): Promise<GetOrCreateResult>;
  findActive(sessionKey: string): Promise<SessionRecord | undefined>;
  get(sessionId: string): Promise<SessionRecord | undefined>;
  ensure(
    sessionId: string,
    sessionKey: string,
    source: SessionSource,
    options?: EnsureOptions,
  ): Promise<EnsureResult>;
  end(sessionId: string, reason: string, now?: number): Promise<void>;
  append(sessionId: string, messages: NewMessage[], options?: AppendOptions): Promise<number[]>;
  addUsage(sessionId: string, usage: { inputTokens: number; outputTokens: number }): Promise<void>;
  rewind(sessionId: string, afterMessageId: number): Promise<number>;
  setTitle(sessionId: string, title: string): Promise<void>;
  setParent(sessionId: string, parentSessionId: string): Promise<void>;
  parentOf(sessionId: string): Promise<string | undefined>;
  children(sessionId: string): Promise<SessionRecord[]>;
  history(sessionId: string, limit?: number): Promise<StoredMessage[]>;
  search(query: string, options?: { agentId?: string; limit?: number }): Promise<SearchHit[]>;
  list(options?: { agentId?: string; limit?: number; includeEnded?: boolean }): Promise<SessionRecord[]>;
  importSessions(items: readonly ImportedSession[]): Promise<ImportResult>;
  readonly responses: ResponseTable;
  readonly usage: UsageLedger;
  readonly audit: AuditLog;
  readonly rates: RateBuckets;
  readonly leases: LeaseTable;
  checkWritable(timeoutMs?: number): Promise<{ ok: true } | { ok: false; reason: string }>;
  probe(): Promise<StoreProbe>;
  close(): Promise<void>;
}
