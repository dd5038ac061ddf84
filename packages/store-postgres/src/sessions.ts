import type {
  AppendOptions,
  EnsureOptions,
  EnsureResult,
  GetOrCreateOptions,
  GetOrCreateResult,
} from "@switchboard/core";
import {
  DEFAULT_ACCOUNT,
  DuplicateInboundError,
  MAIN_AGENT,
  type MessageRole,
  type NewMessage,
  newSessionId,
  resetReason,
  type SessionRecord,
  type SessionSource,
  type StoredMessage,
} from "@switchboard/core";
import { stripNul } from "./import.ts";
import { type Pool, type Queryable, timedWrite, transaction } from "./pool.ts";

export const DEFAULT_HISTORY_LIMIT = 50;
const DEFAULT_LIST_LIMIT = 50;

/** `sessions` columns as `SessionRecord` fields (quoted: PostgreSQL folds unquoted aliases to lower case). */
export const SESSION_FIELDS = `id, session_key AS "sessionKey", agent_id AS "agentId", platform, account,
  chat_id AS "chatId", chat_type AS "chatType", thread_id AS "threadId", user_id AS "userId", model,
  started_at AS "startedAt", updated_at AS "updatedAt", ended_at AS "endedAt", end_reason AS "endReason",
  message_count AS "messageCount", input_tokens AS "inputTokens", output_tokens AS "outputTokens", title`;

const MESSAGE_FIELDS = `id, session_id AS "sessionId", role, content, tool_calls AS "toolCalls",
  tool_call_id AS "toolCallId", created_at AS "createdAt"`;

interface MessageRow {
  id: number;
  sessionId: string;
  role: MessageRole;
  content: string | null;
  toolCalls: string | null;
  toolCallId: string | null;
  createdAt: number;
}

function parseToolCalls(text: string | null): unknown {
  if (text === null) return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export function toMessage(row: MessageRow): StoredMessage {
  return {
    id: row.id,
    sessionId: row.sessionId,
    role: row.role,
    content: row.content ?? "",
    toolCalls: parseToolCalls(row.toolCalls),
    toolCallId: row.toolCallId,
    createdAt: row.createdAt,
  };
}

export function agentFromKey(sessionKey: string): string | undefined {
  return /^agent:([^:]+):/.exec(sessionKey)?.[1];
}

const tokens = (n: number) => Math.max(0, Math.trunc(n) || 0);

/** The agent a session of `sessionKey` from `source` belongs to. */
const agentOf = (sessionKey: string, source: SessionSource) =>
  source.agentId || agentFromKey(sessionKey) || MAIN_AGENT;

/** A new session row's `session_key`, `agent_id`, `platform`, `account`, chat, thread, user and `model`. */
const sessionColumns = (sessionKey: string, source: SessionSource, model: string | undefined) => [
  sessionKey,
  agentOf(sessionKey, source),
  source.platform || null,
  source.account || DEFAULT_ACCOUNT,
  source.chatId ?? null,
  source.chatType ?? null,
  source.threadId ?? null,
  source.userId ?? null,
  model ?? null,
];

const notTheAgents = (sessionId: string, owner: string, agentId: string) =>
  new Error(`session ${sessionId} belongs to agent "${owner}", not "${agentId}"`);

/** The session operations of the store, over one pool. */
export function sessionOperations(pool: Pool, clock: () => number) {
  const get = async (q: Queryable, id: string): Promise<SessionRecord | undefined> =>
    (
      await q.query<SessionRecord>({
        name: "sb_get",
        text: `SELECT ${SESSION_FIELDS} FROM sessions WHERE id = $1`,
        values: [id],
      })
    ).rows[0];

  const findActive = async (q: Queryable, key: string): Promise<SessionRecord | undefined> =>
    (
      await q.query<SessionRecord>({
        name: "sb_find_active",
        text: `SELECT ${SESSION_FIELDS} FROM sessions WHERE session_key = $1 AND ended_at IS NULL
          ORDER BY started_at DESC, seq DESC LIMIT 1`,
        values: [key],
      })
    ).rows[0];

  /** Insert a session row; with `ifMissing`, nothing when the id exists (then `undefined`). */
  const insertSession = async (
    q: Queryable,
    sessionKey: string,
    source: SessionSource,
    now: number,
    model: string | undefined,
    id: string,
    ifMissing: boolean,
  ): Promise<SessionRecord | undefined> => {
    const r = await q.query<SessionRecord>(
      `INSERT INTO sessions (id, session_key, agent_id, platform, account, chat_id, chat_type, thread_id, user_id,
        model, started_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)
        ${ifMissing ? "ON CONFLICT (id) DO NOTHING" : ""} RETURNING ${SESSION_FIELDS}`,
      [id, ...sessionColumns(sessionKey, source, model), now],
    );
    return r.rows[0];
  };
  const create = async (
    q: Queryable,
    sessionKey: string,
    source: SessionSource,
    now: number,
    model?: string,
    id = newSessionId(now),
  ): Promise<SessionRecord> => (await insertSession(q, sessionKey, source, now, model, id, false))!;

  /**
   * The session `sessionId`, created when missing, in one statement: the primary key serialises two creators
   * of one id (the second waits for the first's commit, then finds its row), so no lock and no read first.
   */
  const ensure = async (
    q: Queryable,
    sessionId: string,
    sessionKey: string,
    source: SessionSource,
    opts: Omit<EnsureOptions, "append">,
  ): Promise<SessionRecord> => {
    const session =
      (await insertSession(q, sessionKey, source, opts.now ?? clock(), opts.model, sessionId, true)) ??
      (await get(q, sessionId));
    // Deleted by another writer between the two statements: say so rather than append to nothing.
    if (!session) throw new Error(`session ${sessionId} was removed while it was being continued; retry`);
    const agentId = agentOf(sessionKey, source);
    // Fail closed: a caller-chosen id must never continue another agent's conversation.
    if (session.agentId !== agentId) throw notTheAgents(sessionId, session.agentId, agentId);
    if (opts.parentSessionId !== undefined) {
      await q.query("UPDATE sessions SET parent_session_id = $1 WHERE id = $2", [
        opts.parentSessionId,
        sessionId,
      ]);
    }
    return session;
  };

  /** Serialise the writers of one session key (across every replica) until the transaction ends. */
  const lockKey = (q: Queryable, key: string) =>
    q.query({
      name: "sb_lock_key",
      text: "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
      values: [`session:${key}`],
    });

  return {
    get: (id: string) => get(pool, id),
    findActive: (key: string) => findActive(pool, key),

    getOrCreate: (sessionKey: string, source: SessionSource, opts: GetOrCreateOptions = {}) =>
      transaction(pool, async (q): Promise<GetOrCreateResult> => {
        await lockKey(q, sessionKey);
        const now = opts.now ?? clock();
        const active = await findActive(q, sessionKey);
        let result: Omit<GetOrCreateResult, "messageIds">;
        if (active) {
          const reason = opts.forceNew ? "reset" : resetReason(opts.reset, active.updatedAt, now);
          if (!reason) {
            const touched = await q.query<SessionRecord>(
              `UPDATE sessions SET updated_at = GREATEST(updated_at, $1) WHERE id = $2 RETURNING ${SESSION_FIELDS}`,
              [now, active.id],
            );
            result = { session: touched.rows[0]!, created: false };
          } else {
            const ended = await q.query<SessionRecord>(
              `UPDATE sessions SET ended_at = $1, end_reason = $2 WHERE id = $3 RETURNING ${SESSION_FIELDS}`,
              [now, reason, active.id],
            );
            const session = await create(q, sessionKey, source, now, opts.model);
            result = { session, created: true, previous: ended.rows[0]!, reason };
          }
        } else {
          result = {
            session: await create(q, sessionKey, source, now, opts.model),
            created: true,
            reason: "new",
          };
        }
        const added = opts.append?.length
          ? await insertMessages(q, result.session.id, opts.append, undefined, clock())
          : undefined;
        const messageIds = added?.ids ?? [];
        if (opts.claim) {
          // Into the session's inbox, in the commit that stores the message (under the key's lock, so the
          // ids of one session's messages follow their commits).
          const c = opts.claim;
          const claimed = await q.query({
            name: "sb_inbound_claim_into",
            text: `INSERT INTO inbound_seen (platform, account, chat_id, message_id, seen_at, session_id, stored_id)
              VALUES ($1, $2, $3, $4, $5, $6, $7)
              ON CONFLICT (platform, account, chat_id, message_id) DO UPDATE
                SET session_id = excluded.session_id, stored_id = excluded.stored_id
                WHERE inbound_seen.session_id IS NULL`,
            values: [
              c.platform,
              c.account,
              c.chatId,
              c.messageId,
              now,
              result.session.id,
              messageIds[0] ?? null,
            ],
          });
          // Seen before by some replica: the transaction rolls back, nothing of this message is stored twice.
          if (claimed.rowCount !== 1) throw new DuplicateInboundError(c);
        }
        if (!added) return { ...result, messageIds };
        // The row is this transaction's (it touched or inserted it): only the counters moved since.
        const { messageCount, updatedAt } = added;
        return { ...result, session: { ...result.session, messageCount, updatedAt }, messageIds };
      }),

    ensure: (sessionId: string, sessionKey: string, source: SessionSource, opts: EnsureOptions = {}) =>
      // Nothing to add: the insert (or the read of the row that was there) needs no transaction around it.
      !opts.append?.length && opts.parentSessionId === undefined
        ? timedWrite(async () => ({
            session: await ensure(pool, sessionId, sessionKey, source, opts),
            messageIds: [],
          }))
        : transaction(pool, async (q): Promise<EnsureResult> => {
            const session = await ensure(q, sessionId, sessionKey, source, opts);
            if (!opts.append?.length) return { session, messageIds: [] };
            const { ids } = await insertMessages(q, sessionId, opts.append, undefined, clock());
            return { session: (await get(q, sessionId))!, messageIds: ids };
          }),

    async end(sessionId: string, reason: string, now?: number): Promise<void> {
      await pool.query(
        "UPDATE sessions SET ended_at = $1, end_reason = $2 WHERE id = $3 AND ended_at IS NULL",
        [now ?? clock(), reason, sessionId],
      );
    },

    async setModel(sessionId: string, model: string): Promise<void> {
      const r = await pool.query("UPDATE sessions SET model = $1 WHERE id = $2", [model, sessionId]);
      if (r.rowCount === 0) throw new Error(`no session "${sessionId}"`);
    },

    /** The key's active session ends (`resumed`) and this one reopens, under the key's lock. */
    resume: (sessionId: string, now?: number) =>
      transaction(pool, async (q): Promise<SessionRecord> => {
        const target = await get(q, sessionId);
        if (!target) throw new Error(`no session "${sessionId}"`);
        await lockKey(q, target.sessionKey);
        const at = now ?? clock();
        await q.query(
          "UPDATE sessions SET ended_at = $1, end_reason = 'resumed' WHERE session_key = $2 AND ended_at IS NULL AND id <> $3",
          [at, target.sessionKey, sessionId],
        );
        const r = await q.query<SessionRecord>(
          `UPDATE sessions SET ended_at = NULL, end_reason = NULL, updated_at = $1 WHERE id = $2 RETURNING ${SESSION_FIELDS}`,
          [at, sessionId],
        );
        return r.rows[0]!;
      }),

    async append(sessionId: string, messages: NewMessage[], opts: AppendOptions = {}): Promise<number[]> {
      const create = opts.create;
      // A turn's first reply on a session it creates: one statement instead of a transaction of two.
      if (
        create &&
        create.parentSessionId === undefined &&
        opts.rewindAfter === undefined &&
        messages.length
      ) {
        const ids = await timedWrite(() =>
          createAndInsert(pool, sessionId, create, messages, opts.usage, clock()),
        );
        if (ids) return ids;
        // No row: the id is another agent's session (or was, and has just been removed).
        const owner = await get(pool, sessionId);
        throw owner
          ? notTheAgents(sessionId, owner.agentId, agentOf(create.sessionKey, create.source))
          : new Error(`session ${sessionId} was removed while it was being continued; retry`);
      }
      if (opts.rewindAfter !== undefined || opts.create) {
        const { rewindAfter: after, create: missing } = opts;
        return transaction(pool, async (q) => {
          if (missing) {
            const { sessionKey, source, ...rest } = missing;
            await ensure(q, sessionId, sessionKey, source, rest);
          }
          if (after !== undefined) await rewind(q, sessionId, after);
          if (messages.length === 0) {
            if (opts.usage) await addUsage(q, sessionId, opts.usage);
            return [];
          }
          return (await insertMessages(q, sessionId, messages, opts.usage, clock())).ids;
        });
      }
      if (messages.length === 0) {
        if (opts.usage) await addUsage(pool, sessionId, opts.usage);
        return [];
      }
      return timedWrite(
        async () => (await insertMessages(pool, sessionId, messages, opts.usage, clock())).ids,
      );
    },

    addUsage: (sessionId: string, usage: { inputTokens: number; outputTokens: number }) =>
      addUsage(pool, sessionId, usage),

    rewind: (sessionId: string, afterMessageId: number) =>
      transaction(pool, (q) => rewind(q, sessionId, afterMessageId)),

    async setTitle(sessionId: string, title: string): Promise<void> {
      await pool.query("UPDATE sessions SET title = $1 WHERE id = $2", [title, sessionId]);
    },
    async setParent(sessionId: string, parentSessionId: string): Promise<void> {
      await pool.query("UPDATE sessions SET parent_session_id = $1 WHERE id = $2", [
        parentSessionId,
        sessionId,
      ]);
    },
    async parentOf(sessionId: string): Promise<string | undefined> {
      const r = await pool.query<{ p: string | null }>(
        "SELECT parent_session_id AS p FROM sessions WHERE id = $1",
        [sessionId],
      );
      return r.rows[0]?.p ?? undefined;
    },
    async children(sessionId: string): Promise<SessionRecord[]> {
      const r = await pool.query<SessionRecord>(
        `SELECT ${SESSION_FIELDS} FROM sessions WHERE parent_session_id = $1 ORDER BY started_at, seq`,
        [sessionId],
      );
      return r.rows;
    },

    async history(sessionId: string, limit = DEFAULT_HISTORY_LIMIT): Promise<StoredMessage[]> {
      const r = await pool.query<MessageRow>({
        name: "sb_history",
        text: `SELECT ${MESSAGE_FIELDS} FROM messages WHERE session_id = $1 ORDER BY id DESC LIMIT $2`,
        values: [sessionId, Math.max(0, Math.trunc(limit))],
      });
      const rows = r.rows;
      const out = new Array<StoredMessage>(rows.length);
      for (let i = 0; i < rows.length; i++) out[rows.length - 1 - i] = toMessage(rows[i]!);
      return out;
    },

    async list(
      opts: { agentId?: string; limit?: number; includeEnded?: boolean } = {},
    ): Promise<SessionRecord[]> {
      const r = await pool.query<SessionRecord>(
        `SELECT ${SESSION_FIELDS} FROM sessions
          WHERE ($1::text IS NULL OR agent_id = $1) AND ($2 OR ended_at IS NULL)
          ORDER BY updated_at DESC, seq DESC LIMIT $3`,
        [opts.agentId ?? null, opts.includeEnded === true, opts.limit ?? DEFAULT_LIST_LIMIT],
      );
      return r.rows;
    },
  };
}

async function addUsage(
  q: Queryable,
  sessionId: string,
  usage: { inputTokens: number; outputTokens: number },
): Promise<void> {
  await q.query(
    "UPDATE sessions SET input_tokens = input_tokens + $1, output_tokens = output_tokens + $2 WHERE id = $3",
    [tokens(usage.inputTokens), tokens(usage.outputTokens), sessionId],
  );
}

async function rewind(q: Queryable, sessionId: string, afterMessageId: number): Promise<number> {
  const removed =
    (await q.query("DELETE FROM messages WHERE session_id = $1 AND id > $2", [sessionId, afterMessageId]))
      .rowCount ?? 0;
  if (removed > 0) {
    await q.query("UPDATE sessions SET message_count = GREATEST(0, message_count - $1) WHERE id = $2", [
      removed,
      sessionId,
    ]);
  }
  return removed;
}

/** The messages as the columns `unnest` takes, and the latest of their times. */
function messageColumns(messages: readonly NewMessage[], fallback: number) {
  const roles: string[] = [];
  const contents: string[] = [];
  const calls: Array<string | null> = [];
  const callIds: Array<string | null> = [];
  const times: number[] = [];
  let last = 0;
  for (const m of messages) {
    const at = m.createdAt ?? fallback;
    if (at > last) last = at;
    roles.push(m.role);
    contents.push(stripNul(m.content));
    calls.push(m.toolCalls === undefined ? null : JSON.stringify(m.toolCalls));
    callIds.push(m.toolCallId ?? null);
    times.push(at);
  }
  return { columns: [roles, contents, calls, callIds, times], last };
}

/**
 * Inserts the rows of `unnest($6 … $10)` as messages of the session the CTE `s` returns (with its counters as
 * they now are), in order; each row of the answer is a message's id with those counters.
 */
const INSERT_FROM_S = `ins AS (
        INSERT INTO messages (session_id, role, content, tool_calls, tool_call_id, created_at)
        SELECT s.id, m.role, m.content, m.tool_calls, m.tool_call_id, m.created_at
        FROM s, unnest($6::text[], $7::text[], $8::text[], $9::text[], $10::bigint[]) WITH ORDINALITY
          AS m(role, content, tool_calls, tool_call_id, created_at, ord)
        ORDER BY m.ord RETURNING id)
      SELECT ins.id, s.message_count AS "messageCount", s.updated_at AS "updatedAt" FROM ins, s ORDER BY ins.id`;

/** `$1` … `$10` of an append: the session, its count and time, the usage, then the message columns. */
function appendValues(
  sessionId: string,
  count: number,
  last: number,
  usage: { inputTokens: number; outputTokens: number } | undefined,
  columns: readonly unknown[],
): unknown[] {
  return [
    sessionId,
    count,
    last,
    usage ? tokens(usage.inputTokens) : 0,
    usage ? tokens(usage.outputTokens) : 0,
    ...columns,
  ];
}

/** Messages inserted: their ids, and the session's count and last update after them. */
interface Inserted {
  ids: number[];
  messageCount: number;
  updatedAt: number;
}

type InsertedRow = { id: number; messageCount: number; updatedAt: number };

const inserted = (rows: readonly InsertedRow[]): Inserted => ({
  ids: rows.map((r) => r.id),
  messageCount: rows[0]!.messageCount,
  updatedAt: rows[0]!.updatedAt,
});

/**
 * The session created if missing, counted, and the messages inserted, in one statement: an upsert, so two
 * creators of one id are serialised by the primary key (the second adds to the first's row). `undefined`
 * when the id is another agent's session (nothing is written).
 */
async function createAndInsert(
  q: Queryable,
  sessionId: string,
  create: NonNullable<AppendOptions["create"]>,
  messages: readonly NewMessage[],
  usage: { inputTokens: number; outputTokens: number } | undefined,
  fallback: number,
): Promise<number[] | undefined> {
  const { source, sessionKey } = create;
  const { columns, last } = messageColumns(messages, fallback);
  const now = create.now ?? fallback;
  const r = await q.query<InsertedRow>({
    name: "sb_create_append2",
    text: `WITH s AS (
        INSERT INTO sessions AS x (id, message_count, updated_at, input_tokens, output_tokens, session_key, agent_id,
          platform, account, chat_id, chat_type, thread_id, user_id, model, started_at)
        VALUES ($1, $2::integer, GREATEST($11::bigint, $3::bigint), $4::bigint, $5::bigint, $12, $13, $14, $15,
          $16, $17, $18, $19, $20, $11::bigint)
        ON CONFLICT (id) DO UPDATE SET message_count = x.message_count + $2::integer,
          updated_at = GREATEST(x.updated_at, $3::bigint), input_tokens = x.input_tokens + $4::bigint,
          output_tokens = x.output_tokens + $5::bigint
        WHERE x.agent_id = excluded.agent_id RETURNING id, message_count, updated_at),
      ${INSERT_FROM_S}`,
    values: [
      ...appendValues(sessionId, messages.length, last, usage, columns),
      now,
      ...sessionColumns(sessionKey, source, create.model),
    ],
  });
  return r.rows.length === 0 ? undefined : r.rows.map((row) => row.id);
}

/**
 * One statement, so one round trip and atomic on its own: the session's counters (and usage) move and the
 * messages are inserted together, or (an unknown session) nothing is.
 */
async function insertMessages(
  q: Queryable,
  sessionId: string,
  messages: readonly NewMessage[],
  usage: { inputTokens: number; outputTokens: number } | undefined,
  fallback: number,
): Promise<Inserted> {
  const { columns, last } = messageColumns(messages, fallback);
  const r = await q.query<InsertedRow>({
    name: "sb_append2",
    text: `WITH s AS (
        UPDATE sessions SET message_count = message_count + $2, updated_at = GREATEST(updated_at, $3),
          input_tokens = input_tokens + $4, output_tokens = output_tokens + $5
        WHERE id = $1 RETURNING id, message_count, updated_at),
      ${INSERT_FROM_S}`,
    values: appendValues(sessionId, messages.length, last, usage, columns),
  });
  if (r.rows.length === 0) throw new Error(`append: no session ${sessionId}`);
  return inserted(r.rows);
}
