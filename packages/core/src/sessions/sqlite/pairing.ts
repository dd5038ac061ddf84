import type { Database } from "better-sqlite3";
import type {
  ChatAgentOverride,
  ChatAgentTable,
  PairingApproval,
  PairingRequest,
  PairingTable,
} from "../pairing-store.ts";
import type { WriteBatcher } from "./write-batch.ts";

const REQUEST_COLUMNS = `code, platform, account, user_id AS userId, user_name AS userName, chat_id AS chatId,
  created_at AS createdAt, expires_at AS expiresAt`;
const APPROVAL_COLUMNS = `platform, account, user_id AS userId, user_name AS userName, approved_by AS approvedBy,
  approved_at AS approvedAt, code`;

/** Pairing in `pairing_requests` and `pairing_approvals` (schema v5). */
export function pairingTable(db: Database, writes: WriteBatcher, clock: () => number): PairingTable {
  const stmt = {
    purge: db.prepare("DELETE FROM pairing_requests WHERE platform = ? AND account = ? AND expires_at <= ?"),
    live: db.prepare(
      `SELECT ${REQUEST_COLUMNS} FROM pairing_requests WHERE platform = ? AND account = ? AND user_id = ? AND expires_at > ?`,
    ),
    count: db
      .prepare("SELECT COUNT(*) FROM pairing_requests WHERE platform = ? AND account = ? AND expires_at > ?")
      .pluck(),
    dropUser: db.prepare("DELETE FROM pairing_requests WHERE platform = ? AND account = ? AND user_id = ?"),
    dropCode: db.prepare("DELETE FROM pairing_requests WHERE code = ?"),
    insert: db.prepare(
      `INSERT INTO pairing_requests(code, platform, account, user_id, user_name, chat_id, created_at, expires_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    byCode: db.prepare(`SELECT ${REQUEST_COLUMNS} FROM pairing_requests WHERE code = ? AND expires_at > ?`),
    pending: db.prepare(
      `SELECT ${REQUEST_COLUMNS} FROM pairing_requests WHERE expires_at > ?
       AND (? IS NULL OR platform = ?) AND (? IS NULL OR account = ?) ORDER BY created_at, code`,
    ),
    approve: db.prepare(
      `INSERT INTO pairing_approvals(platform, account, user_id, user_name, approved_by, approved_at, code)
       VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT(platform, account, user_id) DO UPDATE SET user_name = excluded.user_name,
         approved_by = excluded.approved_by, approved_at = excluded.approved_at, code = excluded.code`,
    ),
    approval: db.prepare(
      `SELECT ${APPROVAL_COLUMNS} FROM pairing_approvals WHERE platform = ? AND account = ? AND user_id = ?`,
    ),
    isApproved: db.prepare(
      "SELECT 1 FROM pairing_approvals WHERE platform = ? AND account = ? AND user_id = ?",
    ),
    revoke: db.prepare(
      "DELETE FROM pairing_approvals WHERE platform = ? AND user_id = ? AND (? IS NULL OR account = ?)",
    ),
    approved: db.prepare(
      `SELECT ${APPROVAL_COLUMNS} FROM pairing_approvals WHERE (? IS NULL OR platform = ?)
       AND (? IS NULL OR account = ?) ORDER BY approved_at, platform, account, user_id`,
    ),
  };
  const norm = (code: string) => code.trim().toUpperCase();
  const liveByCode = (code: string, now: number) =>
    stmt.byCode.get(norm(code), now) as PairingRequest | undefined;

  return {
    request: (input) =>
      writes.run(() => {
        const now = input.now ?? clock();
        const { platform, account, userId } = input;
        stmt.purge.run(platform, account, now);
        const live = stmt.live.get(platform, account, userId, now) as PairingRequest | undefined;
        if (live) return { status: "existing" as const, request: live };
        const pending = stmt.count.get(platform, account, now) as number;
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
        stmt.dropCode.run(request.code);
        stmt.insert.run(
          request.code,
          platform,
          account,
          userId,
          request.userName,
          request.chatId,
          request.createdAt,
          request.expiresAt,
        );
        return { status: "created" as const, request };
      }),
    pending: (options = {}) =>
      writes.read(() => {
        const p = options.platform ?? null;
        const a = options.account ?? null;
        return stmt.pending.all(options.now ?? clock(), p, p, a, a) as PairingRequest[];
      }),
    approve: (code, approvedBy, now = clock()) =>
      writes.run(() => {
        const req = liveByCode(code, now);
        if (!req) return undefined;
        stmt.dropUser.run(req.platform, req.account, req.userId);
        stmt.approve.run(req.platform, req.account, req.userId, req.userName, approvedBy, now, req.code);
        return stmt.approval.get(req.platform, req.account, req.userId) as PairingApproval;
      }),
    deny: (code, now = clock()) =>
      writes.run(() => {
        const req = liveByCode(code, now);
        if (!req) return undefined;
        stmt.dropCode.run(req.code);
        return req;
      }),
    revoke: (platform, userId, account) =>
      writes.run(() => stmt.revoke.run(platform, userId, account ?? null, account ?? null).changes),
    isApproved: (platform, account, userId) =>
      writes.read(() => stmt.isApproved.get(platform, account, userId) !== undefined),
    approved: (options = {}) =>
      writes.read(() => {
        const p = options.platform ?? null;
        const a = options.account ?? null;
        return stmt.approved.all(p, p, a, a) as PairingApproval[];
      }),
  };
}

/** `/agent <id>` overrides in `chat_agents` (schema v6). */
export function chatAgentTable(db: Database, writes: WriteBatcher, clock: () => number): ChatAgentTable {
  const stmt = {
    get: db.prepare(
      "SELECT agent_id AS agentId, set_by AS setBy, set_at AS setAt FROM chat_agents WHERE chat = ?",
    ),
    set: db.prepare(
      `INSERT INTO chat_agents(chat, agent_id, set_by, set_at) VALUES (?, ?, ?, ?)
       ON CONFLICT(chat) DO UPDATE SET agent_id = excluded.agent_id, set_by = excluded.set_by, set_at = excluded.set_at`,
    ),
    clear: db.prepare("DELETE FROM chat_agents WHERE chat = ?"),
  };
  return {
    get: (chat) => writes.read(() => stmt.get.get(chat) as ChatAgentOverride | undefined),
    set: (chat, agentId, setBy, now = clock()) =>
      writes.run(() => {
        stmt.set.run(chat, agentId, setBy, now);
      }),
    clear: (chat) => writes.run(() => stmt.clear.run(chat).changes > 0),
  };
}
