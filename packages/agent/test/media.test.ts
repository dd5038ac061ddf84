import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createTurnMedia, type OutboundMedia } from "@switchboard/core";
import { type StubLlm, startStubLlm } from "@switchboard/testing";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createAgentRunner } from "../src/index.ts";
import { collect, configFrom, makeTurn, profile, tempHome, terminal } from "./helpers.ts";

let home: ReturnType<typeof tempHome>;
let outside: ReturnType<typeof tempHome>;
beforeEach(() => {
  home = tempHome();
  outside = tempHome();
});
afterEach(() => {
  home.cleanup();
  outside.cleanup();
});

/** The chat side of a turn: what the gateway would upload, recorded in order. */
function chat(maxBytes = 1024 * 1024) {
  const uploads: OutboundMedia[] = [];
  const media = createTurnMedia({
    maxBytes,
    deliver: async (f) => {
      uploads.push(f);
      return { messageId: `m${uploads.length}` };
    },
  });
  return { uploads, media };
}

async function sendFileResult(text: string, media?: ReturnType<typeof chat>["media"]) {
  const cfg = await configFrom(home.dir, "agents:\n  main: {}\n  ops: {}\n");
  const agent = profile(cfg, "ops");
  const runner = createAgentRunner();
  const events = await collect(runner.run(makeTurn(agent, text, media ? { services: { media } } : {})));
  terminal(events);
  return { events, agent, result: events.find((e) => e.type === "tool-result") };
}

describe("send_file", () => {
  it("uploads a file of the agent's home into the turn's chat", async () => {
    const dir = join(home.dir, "agents", "ops", "reports");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "chart.png"), Buffer.from([0x89, 0x50, 0x4e, 0x47]));
    const c = chat();
    const { result } = await sendFileResult(
      '[[tool:send_file {"path":"reports/chart.png","caption":"Q3"}]]',
      c.media,
    );
    expect(result).toMatchObject({
      type: "tool-result",
      output: { sent: "chart.png", bytes: 4, messageId: "m1" },
    });
    expect(c.uploads).toHaveLength(1);
    expect(c.uploads[0]).toMatchObject({
      kind: "image",
      name: "chart.png",
      mimeType: "image/png",
      caption: "Q3",
    });
  });

  it("refuses paths out of the home, symlinks out of it, and files over the chat's limit", async () => {
    mkdirSync(join(home.dir, "agents", "ops"), { recursive: true });
    writeFileSync(join(outside.dir, "secret.txt"), "token=abc");
    writeFileSync(join(home.dir, ".env"), "OPENAI_API_KEY=sk-main");
    symlinkSync(join(outside.dir, "secret.txt"), join(home.dir, "agents", "ops", "link.txt"));
    writeFileSync(join(home.dir, "agents", "ops", "big.bin"), Buffer.alloc(2000));
    const c = chat(1000);
    for (const path of ["../../.env", join(outside.dir, "secret.txt"), "link.txt", "big.bin"]) {
      const { result } = await sendFileResult(`[[tool:send_file ${JSON.stringify({ path })}]]`, c.media);
      expect(result, path).toMatchObject({ type: "tool-result", isError: true });
    }
    expect(c.uploads).toHaveLength(0);
  });

  it("never sends secrets: the agent's .env, hidden files, main's config and store", async () => {
    const cfg = await configFrom(home.dir, "agents:\n  main: {}\n");
    const main = profile(cfg, "main");
    writeFileSync(join(home.dir, ".env"), "OPENAI_API_KEY=sk-main");
    writeFileSync(join(home.dir, "config.yaml"), "agents: {}");
    writeFileSync(join(home.dir, "state.db"), "x");
    mkdirSync(join(home.dir, ".git"), { recursive: true });
    writeFileSync(join(home.dir, ".git", "config"), "x");
    writeFileSync(join(home.dir, "ok.txt"), "fine");
    const c = chat();
    const runner = createAgentRunner();
    const call = async (path: string) => {
      const events = await collect(
        runner.run(
          makeTurn(main, `[[tool:send_file ${JSON.stringify({ path })}]]`, { services: { media: c.media } }),
        ),
      );
      return events.find((e) => e.type === "tool-result");
    };
    for (const path of [".env", "config.yaml", "state.db", ".git/config", join(home.dir, ".env")])
      expect(await call(path), path).toMatchObject({ isError: true });
    expect(await call("ok.txt")).toMatchObject({ output: { sent: "ok.txt" } });
    expect(c.uploads.map((u) => u.name)).toEqual(["ok.txt"]);
  });

  it("is not offered outside a chat turn (no way to a chat)", async () => {
    const cfg = await configFrom(home.dir, "agents:\n  main: {}\n");
    const runner = createAgentRunner();
    expect(runner.toolNames?.(profile(cfg, "main"))).not.toContain("send_file");
    const { result } = await sendFileResult('[[tool:send_file {"path":"x.png"}]]');
    expect(result).toMatchObject({ isError: true });
  });
});

describe("Markdown images in the reply", () => {
  let stub: StubLlm;
  beforeEach(async () => {
    stub = await startStubLlm();
  });
  afterEach(() => stub.close());

  it("an image link into the agent's home is attached and removed from the text; others stay", async () => {
    const cfg = await configFrom(
      home.dir,
      `providers:\n  local: { kind: openai-compatible, base_url: "${stub.url}" }\nagents:\n  main: { model: { provider: local, name: m } }\n`,
    );
    mkdirSync(join(home.dir, "out"), { recursive: true });
    writeFileSync(join(home.dir, "out", "plot.png"), Buffer.from([1, 2, 3]));
    writeFileSync(join(outside.dir, "other.png"), Buffer.from([9]));
    stub.script({
      text: `Here it is:\n\n![the plot](out/plot.png)\n\n![web](https://example.com/a.png) ![escape](${join(outside.dir, "other.png")})`,
    });
    const c = chat();
    const events = await collect(
      createAgentRunner().run(makeTurn(profile(cfg, "main"), "plot it", { services: { media: c.media } })),
    );
    const end = terminal(events);
    expect(end.type).toBe("finish");
    const text = end.type === "finish" ? end.text : "";
    expect(text).not.toContain("out/plot.png");
    expect(text).toContain("https://example.com/a.png");
    expect(text).toContain("other.png");
    expect(c.media.pending.map((f) => [f.name, f.caption])).toEqual([["plot.png", "the plot"]]);
    await c.media.flush();
    expect(c.uploads).toHaveLength(1);
  });
});
