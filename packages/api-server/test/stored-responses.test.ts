import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { KEYS, postJson, startApi, type TestApi } from "./helpers.ts";

let api: TestApi | undefined;
const homes: string[] = [];
afterEach(async () => {
  await api?.close();
  api = undefined;
  for (const h of homes.splice(0)) rmSync(h, { recursive: true, force: true });
});

const keyed = (extra: Record<string, unknown> = {}) => ({
  agents: { main: {} },
  api_server: { keys: [{ key: KEYS.admin, agents: "*" }], ...extra },
});

async function respond(api: TestApi, body: Record<string, unknown>) {
  const res = await postJson(api, "/v1/responses", body, { key: KEYS.admin });
  expect(res.status).toBe(200);
  return (await res.json()) as { id: string; store: boolean; output_text?: string };
}

const status = async (api: TestApi, id: string) =>
  (await api.request(`/v1/responses/${id}`, { key: KEYS.admin })).status;

describe("stored responses", () => {
  it("survive a restart: GET and previous_response_id work against a new server on the same state.db", async () => {
    const home = mkdtempSync(join(tmpdir(), "sb-api-restart-"));
    homes.push(home);
    api = await startApi(keyed(), { home });
    const first = await respond(api, { input: "the code word is heron" });
    await api.close();

    api = await startApi(keyed(), { home });
    const got = await api.request(`/v1/responses/${first.id}`, { key: KEYS.admin });
    expect(got.status).toBe(200);
    expect(((await got.json()) as { id: string }).id).toBe(first.id);
    const next = await api.client({ key: KEYS.admin }).responses.create({
      input: "and again",
      previous_response_id: first.id,
    });
    expect(next.previous_response_id).toBe(first.id);
    expect(next.output_text).toBe("[main] and again");
  });

  it("keep their input items in state.db, readable only by the key that created them", async () => {
    const home = mkdtempSync(join(tmpdir(), "sb-api-items-"));
    homes.push(home);
    const twoKeys = {
      agents: { main: {} },
      api_server: {
        keys: [
          { key: KEYS.admin, agents: "*" },
          { key: KEYS.webui, agents: "*" },
        ],
      },
    };
    api = await startApi(twoKeys, { home });
    const first = await respond(api, { input: "the code word is heron" });
    await api.close();

    api = await startApi(twoKeys, { home });
    const items = await api.request(`/v1/responses/${first.id}/input_items`, { key: KEYS.admin });
    expect(items.status).toBe(200);
    const list = (await items.json()) as { data: Array<{ type: string; role: string; content: unknown }> };
    expect(list.data).toMatchObject([
      { type: "message", role: "user", content: [{ type: "input_text", text: "the code word is heron" }] },
    ]);
    const foreign = await api.request(`/v1/responses/${first.id}/input_items`, { key: KEYS.webui });
    expect(foreign.status).toBe(404);
  });

  it("honours store: false: not stored, echoed as false", async () => {
    api = await startApi(keyed());
    const kept = await respond(api, { input: "keep me" });
    expect(kept.store).toBe(true);
    const dropped = await respond(api, { input: "forget me", store: false });
    expect(dropped.store).toBe(false);
    expect(await status(api, kept.id)).toBe(200);
    expect(await status(api, dropped.id)).toBe(404);
    expect(await api.store.responses.get(dropped.id, 86_400_000)).toBeUndefined();
  });

  it("stays within responses.max_bytes, dropping the oldest first", async () => {
    const maxBytes = 20_000;
    api = await startApi(keyed({ responses: { max_bytes: maxBytes } }));
    const ids: string[] = [];
    for (let i = 0; i < 8; i++) ids.push((await respond(api, { input: `${i} ${"x".repeat(3000)}` })).id);
    expect(await api.store.responses.bytes()).toBeLessThanOrEqual(maxBytes);
    expect(await status(api, ids[0]!)).toBe(404);
    expect(await status(api, ids[7]!)).toBe(200);
    // One response larger than the whole budget is answered but not stored.
    const huge = await respond(api, { input: "y".repeat(maxBytes) });
    expect(await status(api, huge.id)).toBe(404);
    expect(await status(api, ids[7]!)).toBe(200);
  });

  it("forgets responses older than responses.retention_days", async () => {
    // 0.3 s, so the test can wait it out.
    api = await startApi(keyed({ responses: { retention_days: 0.3 / 86_400 } }));
    const old = await respond(api, { input: "soon gone" });
    expect(await status(api, old.id)).toBe(200);
    await new Promise((r) => setTimeout(r, 400));
    expect(await status(api, old.id)).toBe(404);
    const fresh = await respond(api, { input: "new" });
    expect(await status(api, fresh.id)).toBe(200);
    // The expired row is gone from the file, not only hidden.
    expect(await api.store.responses.get(old.id, Number.MAX_SAFE_INTEGER)).toBeUndefined();
  });
});
