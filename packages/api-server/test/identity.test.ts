import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KEYS, postJson } from "./helpers.ts";
import { type StubApi, startStubApi, storedSessionId } from "./stub-api.ts";

const CHAT = "/v1/chat/completions";

/** Who is calling and which conversation this is: users, chats, sessions, and what gets stored. */
describe("identity and sessions", () => {
  let s: StubApi;
  beforeAll(async () => {
    s = await startStubApi({
      agents: { vip: { model: { provider: "stub", name: "stub-model" }, toolsets: [] } },
      routes: [{ match: { platform: "api_server", user_id: "vip-user" }, agent: "vip" }],
      api_server: { plain_models: true },
    });
  });
  afterAll(async () => {
    await s?.close();
  });

  const sessionOf = (res: Response) => res.headers.get("x-switchboard-session-id")!;
  const stored = async (agent: string, publicId: string) =>
    (await s.api.store.history(storedSessionId(agent, publicId))).map((m) => `${m.role}:${m.content}`);

  it("keeps two users who open with the same message in two sessions (body `user`)", async () => {
    const client = s.api.client({ key: KEYS.admin });
    const a = await client.chat.completions
      .create({ model: "main", user: "alice", messages: [{ role: "user", content: "hello" }] })
      .withResponse();
    const b = await client.chat.completions
      .create({ model: "main", user: "bob", messages: [{ role: "user", content: "hello" }] })
      .withResponse();
    const idA = a.response.headers.get("x-switchboard-session-id")!;
    const idB = b.response.headers.get("x-switchboard-session-id")!;
    expect(idA).not.toBe(idB);
    await s.api.gateway.idle();
    expect(await stored("main", idA)).toEqual(["user:hello", "assistant:stub: hello"]);
    expect(await stored("main", idB)).toEqual(["user:hello", "assistant:stub: hello"]);
    expect((await s.api.store.get(storedSessionId("main", idA)))?.userId).toBe("alice");
  });

  it("separates Open WebUI chats and users by their forwarded headers", async () => {
    const send = (user: string, chat: string) =>
      postJson(
        s.api,
        CHAT,
        { model: "main", messages: [{ role: "user", content: "hi there" }] },
        { key: KEYS.admin, headers: { "X-OpenWebUI-User-Id": user, "X-OpenWebUI-Chat-Id": chat } },
      );
    const ids = new Set<string>();
    for (const [user, chat] of [
      ["u1", "c1"],
      ["u1", "c2"],
      ["u2", "c1"],
    ] as const) {
      const res = await send(user, chat);
      expect(res.status).toBe(200);
      ids.add(sessionOf(res));
    }
    expect(ids.size).toBe(3);
    // The same user and chat again is the same session.
    expect(ids.has(sessionOf(await send("u1", "c1")))).toBe(true);
  });

  it("routes on the body's user like on a user header", async () => {
    const res = await postJson(
      s.api,
      CHAT,
      { user: "vip-user", messages: [{ role: "user", content: "route me" }] },
      { key: KEYS.admin },
    );
    expect(res.headers.get("x-switchboard-agent")).toBe("vip");
  });

  it("follows a LibreChat conversation: the body is the truth, regenerate and edit neither duplicate nor vanish", async () => {
    const headers = { "X-Switchboard-Session-Id": "lc-conv-1" };
    const client = s.api.client({ key: KEYS.admin, headers });
    const u1 = { role: "user" as const, content: "first" };
    const r1 = await client.chat.completions.create({ model: "main", messages: [u1] });
    const a1 = { role: "assistant" as const, content: r1.choices[0]!.message.content! };
    const u2 = { role: "user" as const, content: "second" };
    await client.chat.completions.create({ model: "main", messages: [u1, a1, u2] });
    await s.api.gateway.idle();
    expect(await stored("main", "lc-conv-1")).toEqual([
      "user:first",
      "assistant:stub: first",
      "user:second",
      "assistant:stub: second",
    ]);

    // Regenerate: the same body again. One new answer replaces the old one.
    s.stub.script({ text: "another take" });
    await client.chat.completions.create({ model: "main", messages: [u1, a1, u2] });
    await s.api.gateway.idle();
    expect(await stored("main", "lc-conv-1")).toEqual([
      "user:first",
      "assistant:stub: first",
      "user:second",
      "assistant:another take",
    ]);

    // Edit the second message: the tail after the edit is replaced, and the model sees the body's history.
    await client.chat.completions.create({
      model: "main",
      messages: [u1, a1, { role: "user", content: "second, edited" }],
    });
    await s.api.gateway.idle();
    expect(await stored("main", "lc-conv-1")).toEqual([
      "user:first",
      "assistant:stub: first",
      "user:second, edited",
      "assistant:stub: second, edited",
    ]);
    const sent = s.stub.requests.at(-1)!.messages.filter((m) => m.role !== "system");
    expect(sent.map((m) => m.content)).toEqual(["first", "stub: first", "second, edited"]);
  });

  it("follows an Open WebUI regenerate in a derived session without duplicating the turn", async () => {
    const headers = { "X-OpenWebUI-User-Id": "ow-user", "X-OpenWebUI-Chat-Id": "ow-chat-9" };
    const client = s.api.client({ key: KEYS.admin, headers });
    const first = await client.chat.completions
      .create({ model: "main", messages: [{ role: "user", content: "name a colour" }] })
      .withResponse();
    const id = first.response.headers.get("x-switchboard-session-id")!;
    s.stub.script({ text: "teal" });
    await client.chat.completions.create({
      model: "main",
      messages: [{ role: "user", content: "name a colour" }],
    });
    await s.api.gateway.idle();
    expect(await stored("main", id)).toEqual(["user:name a colour", "assistant:teal"]);
  });

  it("offers plain variants: the agent's model with no persona, no tools, nothing stored", async () => {
    const models = await s.api.client({ key: KEYS.admin }).models.list();
    expect(models.data.map((m) => m.id)).toEqual(expect.arrayContaining(["main", "main:plain"]));
    const before = (await s.api.store.list({ limit: 1000 })).length;
    const res = await s.api.client({ key: KEYS.admin }).chat.completions.create({
      model: "main:plain",
      messages: [
        { role: "system", content: "Generate a concise title." },
        { role: "user", content: "a chat about tea" },
      ],
    });
    expect(res.choices[0]!.message.content).toBe("stub: a chat about tea");
    const sent = s.stub.requests.at(-1)!;
    expect(sent.tools).toBeUndefined();
    expect(sent.messages[0]).toEqual({ role: "system", content: "Generate a concise title." });
    await s.api.gateway.idle();
    expect((await s.api.store.list({ limit: 1000 })).length).toBe(before);
  });
});
