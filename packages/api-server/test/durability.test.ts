import { onFact, openSessionStore, sqliteDatabase } from "@switchboard/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postJson, startApi, type TestApi } from "./helpers.ts";

/** What another process sees in `state.db` right now: a second connection reads committed rows only. */
async function committedReplies(api: TestApi): Promise<string[]> {
  const reader = openSessionStore(api.store.location);
  try {
    const out: string[] = [];
    for (const s of await reader.list({ includeEnded: true, limit: 1000 }))
      for (const m of await reader.history(s.id, 100)) if (m.role === "assistant") out.push(m.content);
    return out;
  } finally {
    await reader.close();
  }
}

/** Read an SSE body until `last` shows up, and return what was committed at that moment. */
async function committedWhenSeen(api: TestApi, res: Response, last: RegExp): Promise<string[]> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = "";
  for (;;) {
    const { done, value } = await reader.read();
    if (done) throw new Error(`the stream ended without ${last}: ${text.slice(-300)}`);
    text += decoder.decode(value, { stream: true });
    if (last.test(text)) {
      const seen = await committedReplies(api);
      await reader.cancel().catch(() => {});
      return seen;
    }
  }
}

describe("the last byte of an answer goes out after its reply is committed", () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startApi({ agents: { main: {} } });
  });
  afterAll(async () => {
    await api.close();
  });

  it("chat completions, JSON", async () => {
    const res = await postJson(api, "/v1/chat/completions", {
      model: "main",
      messages: [{ role: "user", content: "json one" }],
    });
    const seen = await committedReplies(api);
    expect(res.status).toBe(200);
    expect(seen).toContain("[main] json one");
  });

  it("chat completions, streamed: at data: [DONE]", async () => {
    const res = await postJson(api, "/v1/chat/completions", {
      model: "main",
      stream: true,
      messages: [{ role: "user", content: "stream two" }],
    });
    expect(await committedWhenSeen(api, res, /data: \[DONE\]/)).toContain("[main] stream two");
  });

  it("responses, streamed: at response.completed", async () => {
    const res = await postJson(api, "/v1/responses", {
      model: "main",
      stream: true,
      input: "responses three",
    });
    expect(await committedWhenSeen(api, res, /response\.completed/)).toContain("[main] responses three");
  });

  it("runs: at the run's final event", async () => {
    const started = await postJson(api, "/v1/runs", { model: "main", input: "run four" });
    const { run_id } = (await started.json()) as { run_id: string };
    const events = await api.request(`/v1/runs/${run_id}/events`);
    expect(await committedWhenSeen(api, events, /run\.completed/)).toContain("[main] run four");
  });
});

describe("a reply the store cannot hold", () => {
  it("is answered as an error (503 store_unavailable), not as a success", async () => {
    const api = await startApi({ agents: { main: {} } });
    try {
      const db = sqliteDatabase(api.store);
      // Room for the question, none for a long answer: SQLITE_FULL on the reply's commit only.
      db.pragma(`max_page_count = ${(db.pragma("page_count", { simple: true }) as number) + 4}`);
      const res = await postJson(api, "/v1/chat/completions", {
        model: "main",
        messages: [{ role: "user", content: "[[long:200000]]" }],
      });
      expect(res.status).toBe(503);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("store_unavailable");
      db.pragma("max_page_count = 1073741823");
    } finally {
      await api.close();
    }
  });
});

describe("an API turn on a new session", () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startApi({ agents: { main: {} } });
  });
  afterAll(async () => {
    await api.close();
  });

  /** Group commits while `fn` runs. */
  async function commitsDuring(fn: () => Promise<void>): Promise<number> {
    let commits = 0;
    const off = onFact("store", (f) => {
      if (f.op === "commit") commits++;
    });
    try {
      await fn();
    } finally {
      off();
    }
    return commits;
  }

  it("stores the session, the question, the reply and its usage in one commit", async () => {
    // Whatever a first request writes once (the key's use of the day) is out of the way.
    await postJson(api, "/v1/chat/completions", {
      model: "main",
      messages: [{ role: "user", content: "warm" }],
    });
    for (const stream of [false, true]) {
      const content = `one commit ${stream}`;
      const commits = await commitsDuring(async () => {
        const res = await postJson(api, "/v1/chat/completions", {
          model: "main",
          stream,
          messages: [{ role: "user", content }],
        });
        expect(res.status).toBe(200);
        await res.text();
      });
      expect(commits).toBe(1);
      const stored = [];
      for (const s of await api.store.list({ limit: 100 }))
        for (const m of await api.store.history(s.id)) stored.push(`${m.role}:${m.content}`);
      expect(stored).toEqual(expect.arrayContaining([`user:${content}`, `assistant:[main] ${content}`]));
    }
  });

  it("continues in the same session on the next request, which reads the stored one", async () => {
    const first = [{ role: "user", content: "keep going" }];
    const a = await postJson(api, "/v1/chat/completions", { model: "main", messages: first });
    const sessionId = a.headers.get("x-switchboard-session-id");
    const b = await postJson(api, "/v1/chat/completions", {
      model: "main",
      messages: [
        ...first,
        { role: "assistant", content: "[main] keep going" },
        { role: "user", content: "more" },
      ],
    });
    expect(b.headers.get("x-switchboard-session-id")).toBe(sessionId);
    const sessions = (await api.store.list({ limit: 100 })).filter((s) => s.id.endsWith(sessionId!));
    expect(sessions).toHaveLength(1);
    expect((await api.store.history(sessions[0]!.id)).map((m) => m.content)).toEqual([
      "keep going",
      "[main] keep going",
      "more",
      "[main] more",
    ]);
  });
});
