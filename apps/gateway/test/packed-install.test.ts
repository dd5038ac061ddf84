import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * "Install only what you need": pack core, agent, api-server, adapter-telegram and the gateway into
 * tarballs, install them outside the workspace, and run the CLI from there against a fake Bot API.
 */
const ROOT = join(import.meta.dirname, "..", "..", "..");
const PACKAGES = [
  "packages/core",
  "packages/agent",
  "packages/api-server",
  "packages/adapter-telegram",
  "apps/gateway",
];
const TOKEN = "123456:PACKEDTEST";
const work = mkdtempSync(join(tmpdir(), "sb-packed-"));
const app = join(work, "app");
const home = join(work, "home");

interface Sent {
  chat_id: number | string;
  text: string;
}
let fake: Server;
let fakeUrl = "";
const sent: Sent[] = [];
const updates: unknown[] = [];

function sh(cmd: string, args: string[], cwd: string, timeout = 240_000) {
  const r = spawnSync(cmd, args, { cwd, encoding: "utf8", timeout, env: { ...process.env, NO_COLOR: "1" } });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed in ${cwd}:\n${r.stdout}\n${r.stderr}`);
  return r;
}

beforeAll(async () => {
  fake = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      const method = (req.url ?? "").split("/").pop()?.split("?")[0];
      const params = body ? (JSON.parse(body) as Record<string, unknown>) : {};
      const ok = (result: unknown) => {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ ok: true, result }));
      };
      if (!req.url?.startsWith(`/bot${TOKEN}/`)) {
        res.writeHead(401, { "content-type": "application/json" });
        return res.end(JSON.stringify({ ok: false, error_code: 401, description: "Unauthorized" }));
      }
      if (method === "getMe")
        return ok({ id: 123456, is_bot: true, first_name: "Packed", username: "packed_bot" });
      if (method === "getUpdates") {
        const offset = Number(params.offset ?? 0);
        const pending = updates.filter((u) => (u as { update_id: number }).update_id >= offset);
        if (pending.length) return ok(pending);
        return setTimeout(
          () => ok(updates.filter((u) => (u as { update_id: number }).update_id >= offset)),
          200,
        );
      }
      if (method === "sendMessage") {
        sent.push(params as unknown as Sent);
        return ok({
          message_id: sent.length,
          date: 0,
          chat: { id: params.chat_id, type: "private" },
          text: params.text,
        });
      }
      return ok(true);
    });
  });
  await new Promise<void>((r) => fake.listen(0, "127.0.0.1", r));
  fakeUrl = `http://127.0.0.1:${(fake.address() as AddressInfo).port}`;

  const tsc = join(ROOT, "node_modules", "typescript", "bin", "tsc");
  const tarballs = join(work, "tarballs");
  mkdirSync(tarballs);
  for (const p of PACKAGES) {
    sh(process.execPath, [tsc, "-p", "tsconfig.build.json"], join(ROOT, p));
    sh("pnpm", ["pack", "--pack-destination", tarballs], join(ROOT, p));
  }
  mkdirSync(app);
  const deps = Object.fromEntries(
    readdirSync(tarballs).map((f) => [
      f.replace(/-0\.1\.0\.tgz$/, "").replace(/^switchboard-/, "@switchboard/"),
      `file:${join(tarballs, f)}`,
    ]),
  );
  writeFileSync(
    join(app, "package.json"),
    JSON.stringify({ name: "packed-app", private: true, type: "module", dependencies: deps }, null, 2),
  );
  sh("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error"], app, 400_000);
  mkdirSync(home);
}, 600_000);

afterAll(async () => {
  fake?.closeAllConnections();
  await new Promise((r) => fake?.close(r));
  rmSync(work, { recursive: true, force: true });
});

const bin = () => join(app, "node_modules", ".bin", "switchboard");

describe("a packed install with only the Telegram adapter", () => {
  it("contains no other platform SDK", () => {
    const nm = join(app, "node_modules");
    expect(existsSync(join(nm, "grammy"))).toBe(true);
    for (const other of [
      "discord.js",
      "@slack/bolt",
      "matrix-js-sdk",
      "@larksuiteoapi/node-sdk",
      "@switchboard/adapter-discord",
    ]) {
      expect(existsSync(join(nm, other)), other).toBe(false);
    }
  });

  it("config check and run answer a Telegram message", async () => {
    writeFileSync(
      join(home, "config.yaml"),
      `api_server: { port: 0 }\nplatforms:\n  telegram:\n    token: "${TOKEN}"\n    api_url: ${fakeUrl}\n    poll_timeout_s: 0\n    allow_all_users: true\n`,
    );
    const check = spawnSync(bin(), ["config", "check", "--home", home], {
      encoding: "utf8",
      env: { ...process.env, NO_COLOR: "1" },
    });
    expect(check.status, check.stderr).toBe(0);
    expect(check.stdout).toContain("telegram (default)");

    const child = spawn(bin(), ["run", "--home", home], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, NO_COLOR: "1" },
    });
    let out = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    child.stderr.on("data", (c: Buffer) => (out += c.toString()));
    try {
      const deadline = Date.now() + 20_000;
      while (!out.includes("connected") && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(out).toContain('telegram account \\"default\\" connected');
      updates.push({
        update_id: 1,
        message: {
          message_id: 10,
          date: 0,
          chat: { id: 42, type: "private" },
          from: { id: 42, is_bot: false, first_name: "Ada" },
          text: "hello packed",
        },
      });
      while (!sent.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(sent[0]).toMatchObject({ chat_id: 42, text: "[main] hello packed" });
    } finally {
      child.kill("SIGTERM");
      await new Promise((r) => child.on("exit", r));
    }
  }, 60_000);

  it("a Discord config fails with the exact install command", () => {
    const discordHome = join(work, "discord-home");
    mkdirSync(discordHome);
    writeFileSync(join(discordHome, "config.yaml"), 'platforms:\n  discord: { token: "x" }\n');
    const r = spawnSync(bin(), ["config", "check", "--home", discordHome], {
      encoding: "utf8",
      env: { ...process.env, NO_COLOR: "1" },
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("pnpm add @switchboard/adapter-discord");
  });
});

describe("a packed install with only the Yuanbao adapter", () => {
  const ybApp = join(work, "app-yuanbao");
  const ybHome = join(work, "home-yuanbao");
  let yb: import("../../../packages/adapter-yuanbao/test/fake-yuanbao.ts").FakeYuanbao;

  beforeAll(async () => {
    // The shared packages come from the tarballs above; the adapter is packed on its own.
    const own = join(work, "tarballs-yuanbao");
    mkdirSync(own);
    const adapter = join(ROOT, "packages", "adapter-yuanbao");
    sh(
      process.execPath,
      [join(ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.build.json"],
      adapter,
    );
    sh("pnpm", ["pack", "--pack-destination", own], adapter);
    const shared = join(work, "tarballs");
    const tarballs = [
      ...readdirSync(shared)
        .filter((f) => !f.includes("adapter-telegram"))
        .map((f) => ({ dir: shared, f })),
      ...readdirSync(own).map((f) => ({ dir: own, f })),
    ];
    const deps = Object.fromEntries(
      tarballs.map(({ dir, f }) => [
        f.replace(/-0\.1\.0\.tgz$/, "").replace(/^switchboard-/, "@switchboard/"),
        `file:${join(dir, f)}`,
      ]),
    );
    mkdirSync(ybApp);
    writeFileSync(
      join(ybApp, "package.json"),
      JSON.stringify({ name: "packed-yuanbao", private: true, type: "module", dependencies: deps }, null, 2),
    );
    sh("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error"], ybApp, 400_000);
    mkdirSync(ybHome);
    const { FakeYuanbao } = await import("../../../packages/adapter-yuanbao/test/fake-yuanbao.ts");
    yb = await FakeYuanbao.start();
  }, 600_000);

  afterAll(async () => {
    await yb?.close();
  });

  it("ships the protobuf definitions and answers a Yuanbao message", async () => {
    const nm = join(ybApp, "node_modules");
    expect(existsSync(join(nm, "@switchboard", "adapter-yuanbao", "proto", "yuanbao.proto"))).toBe(true);
    expect(existsSync(join(nm, "grammy"))).toBe(false);
    const bot = yb.bot();
    writeFileSync(
      join(ybHome, "config.yaml"),
      `api_server: { port: 0 }\nplatforms:\n  yuanbao:\n    app_id: ${bot.appId}\n    app_secret: ${bot.appSecret}\n    ws_url: ${yb.wsUrl}\n    api_domain: ${yb.url}\n    debounce_ms: 0\n    allow_all_users: true\n`,
    );
    const ybBin = join(nm, ".bin", "switchboard");
    const check = spawnSync(ybBin, ["config", "check", "--home", ybHome], {
      encoding: "utf8",
      env: { ...process.env, NO_COLOR: "1" },
    });
    expect(check.status, check.stderr).toBe(0);
    expect(check.stdout).toContain("yuanbao (default)");
    const child = spawn(ybBin, ["run", "--home", ybHome], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, NO_COLOR: "1" },
    });
    let out = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    child.stderr.on("data", (c: Buffer) => (out += c.toString()));
    try {
      const deadline = Date.now() + 20_000;
      while (!out.includes("connected") && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(out).toContain('yuanbao account \\"default\\" connected');
      await yb.inject({ chatType: "dm", chatId: "ada", userId: "ada", text: "hello packed" });
      const reply = await yb.waitForSent((m) => m.text.includes("hello packed"), 10_000);
      expect(reply).toMatchObject({ chatId: "ada", text: "[main] hello packed" });
    } finally {
      child.kill("SIGTERM");
      await new Promise((r) => child.on("exit", r));
    }
  }, 60_000);
});
