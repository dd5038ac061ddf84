import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { buildConfig } from "../src/config/load.ts";
import {
  COMMAND_TABLE,
  COMMANDS,
  type CommandContext,
  type OperateCommands,
  parseCommand,
  runCommand,
} from "../src/gateway/commands/registry.ts";
import { openSessionStore } from "../src/sessions/store.ts";
import type { SessionStore } from "../src/sessions/store-types.ts";

const cleanup: Array<() => void> = [];
afterEach(() => {
  for (const f of cleanup.splice(0)) f();
});

function context(extra: Partial<CommandContext> = {}): CommandContext {
  const home = mkdtempSync(join(tmpdir(), "sb-commands-"));
  const store: SessionStore = openSessionStore(join(home, "state.db"));
  cleanup.push(() => {
    store.close();
    rmSync(home, { recursive: true, force: true });
  });
  const config = buildConfig(
    {
      agents: { main: {} },
      routes: [{ name: "ops room", match: { platform: "chat", chat_id: "c1" }, agent: "main" }],
    },
    { file: undefined, home, env: {}, platforms: {} },
  );
  return {
    profile: config.registry.main,
    resolution: { agentId: "main", by: "route", route: 0 },
    sessionKey: "agent:main:chat:dm:c1",
    source: { platform: "chat", chatId: "c1", chatType: "dm", userId: "1" },
    store,
    routes: config.routes,
    openSession: () => Promise.reject(new Error("not used")),
    stop: () => false,
    ...extra,
  };
}

/** Admin control whose pauses are real state, so `/platform` answers can be checked. */
function operate(admin: boolean): OperateCommands & { paused: Set<string> } {
  const paused = new Set<string>();
  const accounts = ["chat/default", "chat/work"];
  return {
    paused,
    usage: async () => "",
    isAdmin: () => admin,
    pause: (name) => {
      const hit = accounts.filter((a) => a === name || a.startsWith(`${name}/`));
      for (const a of hit) paused.add(a);
      return hit;
    },
    resume: (name) => {
      const hit = [...paused].filter((a) => a === name || a.startsWith(`${name}/`));
      for (const a of hit) paused.delete(a);
      return hit;
    },
    health: () =>
      accounts.map((a) => {
        const [platform, account] = a.split("/") as [string, string];
        return { platform, account, state: paused.has(a) ? "paused" : "connected" };
      }),
  };
}

describe("chat command registry", () => {
  it("gives every command a name, a one-line description, an admin flag and a handler", () => {
    const names = COMMAND_TABLE.map((e) => e.name);
    expect(new Set(names).size).toBe(names.length);
    for (const e of COMMAND_TABLE) {
      expect(e.description).toMatch(/^\S.*\S$/);
      expect(e.description).not.toContain("\n");
      expect(typeof e.handler).toBe("function");
      expect(COMMANDS[e.name]).toBe(e.description);
    }
    expect(COMMAND_TABLE.filter((e) => e.adminOnly).map((e) => e.name)).toEqual(["platform", "pair"]);
  });

  it("parses every command of the table, with a bot suffix and arguments; other /words go to the agent", () => {
    for (const { name } of COMMAND_TABLE) expect(parseCommand(`/${name}`)).toEqual({ name, args: "" });
    expect(parseCommand("/DENY@my_bot  a1 too risky ")).toEqual({ name: "deny", args: "a1 too risky" });
    expect(parseCommand("/weather today")).toBeUndefined();
    expect(parseCommand("hello /new")).toBeUndefined();
  });

  it("/help lists the table in order", async () => {
    const reply = await runCommand({ name: "help", args: "" }, context());
    expect(reply?.split("\n")).toEqual(COMMAND_TABLE.map((e) => `/${e.name} — ${e.description}`));
  });

  it("refuses an admin-only command to a non-admin, and runs it for an admin", async () => {
    const outsider = operate(false);
    expect(await runCommand({ name: "platform", args: "pause chat" }, context({ operate: outsider }))).toBe(
      "Only admins may use /platform (platforms.<name>.admins).",
    );
    expect(outsider.paused.size).toBe(0);

    const admin = operate(true);
    const ctx = context({ operate: admin });
    expect(await runCommand({ name: "platform", args: "pause chat" }, ctx)).toBe(
      "Paused sends of chat/default, chat/work.",
    );
    expect(await runCommand({ name: "platform", args: "status" }, ctx)).toBe(
      "chat/default: paused\nchat/work: paused",
    );
    expect(await runCommand({ name: "platform", args: "resume nothing" }, ctx)).toBe(
      'No running platform account matches "nothing".',
    );
    expect(await runCommand({ name: "platform", args: "" }, context())).toBe(
      "Only admins may use /platform (platforms.<name>.admins).",
    );
  });

  it("/agent names the route that chose the agent; /stop says whether anything ran", async () => {
    expect(await runCommand({ name: "agent", args: "" }, context())).toBe(
      'This chat is served by agent "main": routes[0] (ops room) matched: platform=chat, chat_id=c1.',
    );
    let stopped = 0;
    const ctx = context({ stop: () => ++stopped === 1 });
    expect(await runCommand({ name: "stop", args: "" }, ctx)).toBe("Stopped.");
    expect(await runCommand({ name: "stop", args: "" }, ctx)).toBe("Nothing is running.");
  });

  it("/approve and /deny pass the decision and arguments on", async () => {
    const asked: Array<[boolean, string]> = [];
    const ctx = context({
      answerApproval: (approved, args) => {
        asked.push([approved, args]);
        return approved ? "Approved." : "Denied.";
      },
    });
    expect(await runCommand({ name: "approve", args: "a1" }, ctx)).toBe("Approved.");
    expect(await runCommand({ name: "deny", args: "a1 no" }, ctx)).toBe("Denied.");
    expect(asked).toEqual([
      [true, "a1"],
      [false, "a1 no"],
    ]);
    expect(await runCommand({ name: "approve", args: "" }, context())).toBe(
      "Nothing is waiting for approval.",
    );
  });
});
