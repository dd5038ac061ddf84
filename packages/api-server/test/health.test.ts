import { openSessionStore, sqliteDatabase } from "@switchboard/core";
import { afterEach, describe, expect, it } from "vitest";
import { startApi, type TestApi } from "./helpers.ts";

let api: TestApi | undefined;
afterEach(async () => {
  await api?.close();
  api = undefined;
});

describe("/health and the session store", () => {
  it("answers 503 while the store cannot write (a full disk), and 200 again once it can", async () => {
    api = await startApi({ agents: { main: {} } });
    expect((await api.request("/health")).status).toBe(200);
    const db = sqliteDatabase(api.store);
    const pages = db.pragma("page_count", { simple: true }) as number;
    // SQLite's own limit on the file's size: every write that needs a new page fails with SQLITE_FULL.
    db.pragma(`max_page_count = ${pages}`);
    const res = await api.request("/health");
    expect(res.status).toBe(503);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ status: "unavailable", store: "cannot write" });
    // No server detail in an unauthenticated answer.
    expect(JSON.stringify(body)).not.toMatch(/\/tmp|state\.db/);
    db.pragma("max_page_count = 1073741823");
    expect((await api.request("/health")).status).toBe(200);
  });

  it("answers 503 quickly while another process holds the store's write lock", async () => {
    api = await startApi({ agents: { main: {} } });
    const other = openSessionStore(api.store.location);
    try {
      other.db.exec("BEGIN EXCLUSIVE");
      const started = Date.now();
      expect((await api.request("/health")).status).toBe(503);
      expect(Date.now() - started).toBeLessThan(2000);
      other.db.exec("ROLLBACK");
      expect((await api.request("/health")).status).toBe(200);
    } finally {
      await other.close();
    }
  });
});
