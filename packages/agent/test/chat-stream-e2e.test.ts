import { afterEach, describe, expect, it } from "vitest";
import { LOCAL_MODEL, localProvider, startWorld, type World } from "./gateway-world.ts";

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

const dm = (text: string) => ({ chatType: "dm" as const, chatId: "u1", userId: "u1", text });

describe("a chat reply from a real model stream", () => {
  it("streams the model's words into one message, edited in place, ending formatted", async () => {
    world = await startWorld(
      ({ stubUrl }) => ({
        providers: localProvider(stubUrl),
        agents: { main: { model: LOCAL_MODEL } },
        platforms: { test: { allow_all_users: true } },
      }),
      { editIntervalMs: 300 },
    );
    const answer = `**Sure.** ${Array.from({ length: 60 }, (_, i) => `word${i}`).join(" ")}`;
    world.stub.script({ text: answer, chunkDelayMs: 30 });
    await world.net.inject(dm("tell me"));
    await world.gateway.idle();
    const [sent, ...more] = world.net.sent();
    expect(more).toEqual([]);
    const edits = world.net.edits().filter((e) => e.messageId === sent!.messageId);
    expect(edits.length).toBeGreaterThanOrEqual(2);
    expect(edits.at(-1)).toMatchObject({ text: answer, format: "markdown" });
  });

  it("steers a message sent during a tool step into the same turn (session.busy: steer)", async () => {
    world = await startWorld(({ stubUrl }) => ({
      providers: localProvider(stubUrl),
      agents: { main: { model: LOCAL_MODEL, toolsets: ["memory"] } },
      platforms: { test: { allow_all_users: true } },
      session: { busy: "steer", debounce_s: 0 },
    }));
    world.stub.script(
      {
        toolCalls: [{ name: "memory_add", arguments: { target: "memory", content: "likes tea" } }],
        delayMs: 400,
      },
      { text: "Noted: tea, and coffee too." },
    );
    await world.net.inject(dm("remember I like tea"));
    await new Promise((r) => setTimeout(r, 150));
    await world.net.inject(dm("and coffee"));
    await world.gateway.idle();
    expect(world.stub.requests).toHaveLength(2);
    const users = (i: number) =>
      world!.stub.requests[i]!.messages.filter((m) => m.role === "user").map((m) =>
        JSON.stringify(m.content),
      );
    expect(users(0).join()).not.toContain("and coffee");
    expect(users(1).at(-1)).toContain("and coffee");
    expect(world.net.sent().map((m) => m.text)).toEqual(["Noted: tea, and coffee too."]);
  });
});
