import type {
  ChatAgentOverride,
  ChatAgentTable,
  PairingApproval,
  PairingRequest,
  PairingTable,
} from "@switchboard/core";
import { type Pool, type Queryable, transaction } from "./pool.ts";

const REQUEST_FIELDS = `code, platform, account, user_id AS "userId", user_name AS "userName", chat_id AS "chatId",
  created_at AS "createdAt", expires_at AS "expiresAt"`;
const APPROVAL_FIELDS = `platform, account, user_id AS "userId", user_name AS "userName", approved_by AS "approvedBy",
  approved_at AS "approvedAt", code`;

const norm = (code: string) => code.trim().toUpperCase();

/** Serialise the pairing writes of one platform account across replicas (the pending bound is per account). */
const lockAccount = (q: Queryable, platform: string, account: string) =>
  q.query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", [`pairing:${platform}:${account}`]);

const liveByCode = async (q: Queryable, code: string, now: number) =>
  (
    await q.query<PairingRequest>(
      `SELECT ${REQUEST_FIELDS} FROM pairing_requests WHERE code = $1 AND expires_at > $2`,
      [norm(code), now],
    )
  ).rows[0];

/** Pairing in `pairing_requests` and `pairing_approvals`, as the SQLite store keeps them. */
export function pairingTable(pool: Pool, clock: () => number): PairingTable {
  return {
    request: (input) =>
      transaction(pool, async (q) => {
        const now = input.now ?? clock();
        const { platform, account, userId } = input;
        await lockAccount(q, platform, account);
        await q.query(
          "DELETE FROM pairing_requests WHERE platform = $1 AND account = $2 AND expires_at <= $3",
          [platform, account, now],
        );
        const live = (
          await q.query<PairingRequest>(
            `SELECT ${REQUEST_FIELDS} FROM pairing_requests
             WHERE platform = $1 AND account = $2 AND user_id = $3 AND expires_at > $4`,
            [platform, account, userId, now],
          )
        ).rows[0];
        if (live) return { status: "existing" as const, request: live };
        const pending = (
          await q.query<{ n: number }>(
            "SELECT COUNT(*) AS n FROM pairing_requests WHERE platform = $1 AND account = $2 AND expires_at > $3",
            [platform, account, now],
          )
        ).rows[0]!.n;
        if (pending >= input.maxPending) return { status: "full" as const, pending };
        const request: PairingRequest = {
          code: norm(input.code),
          platform,
          account,
          userId,
          userName: input.userName ?? null,
          chatId: input.chatId,
          createdAt: now,
          expiresAt: now + input.ttlMs,
        };
        // A code another account's expired request still holds is free again.
        await q.query("DELETE FROM pairing_requests WHERE code = $1", [request.code]);
        await q.query(
          `INSERT INTO pairing_requests (code, platform, account, user_id, user_name, chat_id, created_at, expires_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
          [
            request.code,
            platform,
            account,
            userId,
            request.userName,
            request.chatId,
            request.createdAt,
            request.expiresAt,
          ],
        );
        return { status: "created" as const, request };
      }),
    async pending(options = {}) {
      const r = await pool.query<PairingRequest>(
        `SELECT ${REQUEST_FIELDS} FROM pairing_requests WHERE expires_at > $1
         AND ($2::text IS NULL OR platform = $2) AND ($3::text IS NULL OR account = $3) ORDER BY created_at, code`,
        [options.now ?? clock(), options.platform ?? null, options.account ?? null],
      );
      return r.rows;
    },
    approve: (code, approvedBy, now = clock()) =>
      transaction(pool, async (q) => {
        const req = await liveByCode(q, code, now);
        if (!req) return undefined;
        await q.query("DELETE FROM pairing_requests WHERE platform = $1 AND account = $2 AND user_id = $3", [
          req.platform,
          req.account,
          req.userId,
        ]);
        const r = await q.query<PairingApproval>(
          `INSERT INTO pairing_approvals (platform, account, user_id, user_name, approved_by, approved_at, code)
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (platform, account, user_id) DO UPDATE SET user_name = excluded.user_name,
             approved_by = excluded.approved_by, approved_at = excluded.approved_at, code = excluded.code
           RETURNING ${APPROVAL_FIELDS}`,
          [req.platform, req.account, req.userId, req.userName, approvedBy, now, req.code],
        );
        return r.rows[0];
      }),
    deny: (code, now = clock()) =>
      transaction(pool, async (q) => {
        const req = await liveByCode(q, code, now);
        if (!req) return undefined;
        await q.query("DELETE FROM pairing_requests WHERE code = $1", [req.code]);
        return req;
      }),
    async revoke(platform, userId, account) {
      const r = await pool.query(
        "DELETE FROM pairing_approvals WHERE platform = $1 AND user_id = $2 AND ($3::text IS NULL OR account = $3)",
        [platform, userId, account ?? null],
      );
      return r.rowCount ?? 0;
    },
    async isApproved(platform, account, userId) {
      const r = await pool.query(
        "SELECT 1 FROM pairing_approvals WHERE platform = $1 AND account = $2 AND user_id = $3",
        [platform, account, userId],
      );
      return r.rows.length > 0;
    },
    async approved(options = {}) {
      const r = await pool.query<PairingApproval>(
        `SELECT ${APPROVAL_FIELDS} FROM pairing_approvals WHERE ($1::text IS NULL OR platform = $1)
         AND ($2::text IS NULL OR account = $2) ORDER BY approved_at, platform, account, user_id`,
        [options.platform ?? null, options.account ?? null],
      );
      return r.rows;
    },
  };
}

/** `/agent <id>` overrides in `chat_agents`. */
export function chatAgentTable(pool: Pool, clock: () => number): ChatAgentTable {
  return {
    async get(chat) {
      const r = await pool.query<ChatAgentOverride>(
        `SELECT agent_id AS "agentId", set_by AS "setBy", set_at AS "setAt" FROM chat_agents WHERE chat = $1`,
        [chat],
      );
      return r.rows[0];
    },
    async set(chat, agentId, setBy, now = clock()) {
      await pool.query(
        `INSERT INTO chat_agents (chat, agent_id, set_by, set_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (chat) DO UPDATE SET agent_id = excluded.agent_id, set_by = excluded.set_by, set_at = excluded.set_at`,
        [chat, agentId, setBy, now],
      );
    },
    async clear(chat) {
      return ((await pool.query("DELETE FROM chat_agents WHERE chat = $1", [chat])).rowCount ?? 0) > 0;
    },
  };
}
