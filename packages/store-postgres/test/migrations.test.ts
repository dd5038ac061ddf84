import { createTestDatabase, type TestDatabase } from "@switchboard/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migratePostgres, POSTGRES_SCHEMA_VERSION, schemaVersion } from "../src/migrations.ts";
import { createPool, type Pool } from "../src/pool.ts";

let db: TestDatabase;
const pools: Pool[] = [];
const pool = () => {
  const p = createPool(db.url, { max: 4 });
  pools.push(p);
  return p;
};

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await Promise.all(pools.map((p) => p.end()));
  await db.drop();
});

describe("PostgreSQL migrations", () => {
  it("create every table on an empty database once, even when three replicas start together", async () => {
    const p = pool();
    expect(await schemaVersion(p)).toBe(0);
    const versions = await Promise.all([
      migratePostgres(pool()),
      migratePostgres(pool()),
      migratePostgres(pool()),
    ]);
    expect(versions).toEqual([POSTGRES_SCHEMA_VERSION, POSTGRES_SCHEMA_VERSION, POSTGRES_SCHEMA_VERSION]);
    const applied = await p.query<{ version: number }>("SELECT version FROM schema_version ORDER BY version");
    expect(applied.rows.map((r) => r.version)).toEqual(
      Array.from({ length: POSTGRES_SCHEMA_VERSION }, (_, i) => i + 1),
    );
    const tables = await p.query<{ t: string }>(
      "SELECT table_name AS t FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1",
    );
    expect(tables.rows.map((r) => r.t)).toEqual([
      "audit_log",
      "chat_agents",
      "cron_leases",
      "idempotency_keys",
      "inbound_seen",
      "kv",
      "messages",
      "outbox",
      "pairing_approvals",
      "pairing_requests",
      "rate_buckets",
      "responses",
      "run_answers",
      "run_events",
      "runs",
      "schema_version",
      "sessions",
      "usage_events",
      "usage_totals",
    ]);
    expect(await migratePostgres(p)).toBe(POSTGRES_SCHEMA_VERSION); // a rerun is a no-op
  });

  it("keeps the audit log append-only", async () => {
    const p = pool();
    await migratePostgres(p);
    await p.query("INSERT INTO audit_log (at, actor, action) VALUES (1, 'cli', 'test')");
    await expect(p.query("DELETE FROM audit_log")).rejects.toThrow(/append-only/);
    await expect(p.query("UPDATE audit_log SET actor = 'x'")).rejects.toThrow(/append-only/);
  });

  it("refuses a database migrated by a newer Switchboard", async () => {
    const p = pool();
    await migratePostgres(p);
    await p.query("INSERT INTO schema_version (version, applied_at) VALUES ($1, 0)", [
      POSTGRES_SCHEMA_VERSION + 1,
    ]);
    await expect(migratePostgres(p)).rejects.toThrow(/newer than this Switchboard understands/);
    await p.query("DELETE FROM schema_version WHERE version = $1", [POSTGRES_SCHEMA_VERSION + 1]);
  });

  it("opens a current database as a user that may only read and write its tables", async () => {
    const p = pool();
    await migratePostgres(p);
    const role = `sb_app_${Math.random().toString(36).slice(2, 8)}`;
    await p.query(`CREATE ROLE ${role} LOGIN`);
    await p.query(`REVOKE CREATE ON SCHEMA public FROM PUBLIC`);
    await p.query(`GRANT USAGE ON SCHEMA public TO ${role}`);
    await p.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ${role}`);
    await p.query(`GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO ${role}`);
    const url = new URL(db.url);
    url.username = role;
    const app = createPool(url.toString(), { max: 1 });
    try {
      expect(await migratePostgres(app)).toBe(POSTGRES_SCHEMA_VERSION);
      await expect(app.query("CREATE TABLE nope (x int)")).rejects.toThrow(/permission denied/);
    } finally {
      await app.end();
      await p.query(`DROP OWNED BY ${role}`);
      await p.query(`DROP ROLE ${role}`);
    }
  });
});
