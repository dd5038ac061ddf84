import { spawn, spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createServer, get as httpGet, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeYuanbao } from "../../../packages/adapter-yuanbao/test/fake-yuanbao.ts";

/**
 * The path docs/install.md promises, from packed tarballs and outside the workspace:
 * `npm install -g @switchboard/gateway @switchboard/adapter-telegram` (and the pnpm equivalent), then
 * `switchboard init && switchboard run`, answering a message on a fake Bot API; and the gateway with
 * only the Yuanbao adapter, answering on a fake Yuanbao. The packages are built and packed once, and
 * shared by every install.
 */
const ROOT = join(import.meta.dirname, "..", "..", "..");
/** Every package the two installed ones depend on, in build order. */
const PACKAGES = [
  "packages/core",
  "packages/agent",
  "packages/api-server",
  "packages/console",
  "packages/adapter-telegram",
  "packages/adapter-yuanbao",
  "apps/gateway",
];
/** The packages every install needs besides its one adapter. */
const SHARED = ["core", "agent", "api-server", "console", "gateway"];
const OTHER_SDKS = ["discord.js", "@slack/bolt", "matrix-js-sdk", "@larksuiteoapi/node-sdk", "protobufjs"];
const TOKEN = "123456:PACKEDTEST";
const work = mkdtempSync(join(tmpdir(), "sb-packed-"));
const tarballs = join(work, "tarballs");
const tgz = (name: string) => join(tarballs, `switchboard-${name}-0.1.0.tgz`);

interface Sent {
  chat_id: number | string;
  text: string;
}
let fake: Server;
let fakeUrl = "";
const sent: Sent[] = [];
const updates: unknown[] = [];

function baseEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: Record<string, string | undefined> = { ...process.env, NO_COLOR: "1" };
  // The runner itself is a pnpm script; an installed gateway must not look like one.
  for (const k of Object.keys(env)) if (k.startsWith("npm_")) delete env[k];
  delete env.PNPM_HOME;
  return { ...env, ...extra } as NodeJS.ProcessEnv;
}

/** `sh`, without blocking: the two package managers install side by side. */
function shAsync(cmd: string, args: string[], cwd: string, env = baseEnv()): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    child.stderr.on("data", (c: Buffer) => (out += c.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 300_000);
    child.on("exit", (code) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`${cmd} ${args.join(" ")} failed in ${cwd}:\n${out}`));
    });
  });
}

function sh(cmd: string, args: string[], cwd: string, env = baseEnv(), timeout = 300_000) {
  const r = spawnSync(cmd, args, { cwd, encoding: "utf8", timeout, env });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed in ${cwd}:\n${r.stdout}\n${r.stderr}`);
  return r;
}

/** Every package name installed anywhere under `dir` (nested node_modules and pnpm's `.pnpm` store). */
function installedNames(dir: string, depth = 0, out = new Set<string>()): Set<string> {
  if (depth > 10 || !existsSync(dir)) return out;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (!e.isDirectory() && !e.isSymbolicLink()) continue;
    const p = join(dir, e.name);
    if (e.name === "node_modules") installedNames(p, depth + 1, out);
    else if (e.name === ".pnpm") {
      for (const v of readdirSync(p))
        if (v !== "node_modules") installedNames(join(p, v, "node_modules"), depth + 1, out);
      installedNames(join(p, "node_modules"), depth + 1, out);
    } else if (e.name.startsWith("@")) {
      for (const s of readdirSync(p)) {
        out.add(`${e.name}/${s}`);
        installedNames(join(p, s, "node_modules"), depth + 1, out);
      }
    } else if (!e.name.startsWith(".")) {
      out.add(e.name);
      installedNames(join(p, "node_modules"), depth + 1, out);
    }
  }
  return out;
}

function startFakeBotApi(): Promise<void> {
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
        const pending = () => updates.filter((u) => (u as { update_id: number }).update_id >= offset);
        if (pending().length) return ok(pending());
        return setTimeout(() => ok(pending()), 200);
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
  return new Promise<void>((r) =>
    fake.listen(0, "127.0.0.1", () => {
      fakeUrl = `http://127.0.0.1:${(fake.address() as AddressInfo).port}`;
      r();
    }),
  );
}

beforeAll(async () => {
  await startFakeBotApi();
  const tsc = join(ROOT, "node_modules", "typescript", "bin", "tsc");
  mkdirSync(tarballs);
  for (const p of PACKAGES) {
    sh(process.execPath, [tsc, "-p", "tsconfig.build.json"], join(ROOT, p));
    sh("pnpm", ["pack", "--pack-destination", tarballs], join(ROOT, p));
  }
}, 300_000);

afterAll(async () => {
  fake?.closeAllConnections();
  await new Promise((r) => fake?.close(r));
  rmSync(work, { recursive: true, force: true });
  // Removing four installed trees takes a while on a loaded machine.
}, 120_000);

describe("every tarball", () => {
  it("ships the LICENSE, the README and typed ESM", () => {
    for (const f of readdirSync(tarballs)) {
      const list = sh("tar", ["tzf", join(tarballs, f)], work).stdout.split("\n");
      expect(list, f).toContain("package/LICENSE");
      expect(list, f).toContain("package/README.md");
      expect(list, f).toContain("package/dist/index.js");
      expect(list, f).toContain("package/dist/index.d.ts");
      expect(
        list.some((l) => l.startsWith("package/src/")),
        f,
      ).toBe(false);
    }
  });
});

function getOnce(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    httpGet(url, { agent: false }, (res) => {
      let body = "";
      res.on("data", (d: Buffer) => (body += d.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    }).on("error", reject);
  });
}

interface Install {
  /** The folder holding the `switchboard` command. */
  bin: string;
  /** Where the packages went. */
  root: string;
  env: NodeJS.ProcessEnv;
  /** What the missing-adapter error must tell this user to run. */
  installHint: string;
}

/** `npm install -g` of these tarballs; npm resolves the gateway's @switchboard/* dependencies to the ones beside it. */
function npmGlobalInstall(
  prefix: string,
  names: string[],
  dir: string,
  env: NodeJS.ProcessEnv,
): Promise<void> {
  return shAsync(
    "npm",
    ["install", "-g", "--prefix", prefix, "--no-audit", "--no-fund", "--loglevel=error", ...names.map(tgz)],
    dir,
    env,
  );
}

/** Global installs exactly as docs/install.md has them, with the tarballs standing in for the registry. */
const MANAGERS: Record<"npm" | "pnpm", (dir: string) => Promise<Install>> = {
  async npm(dir) {
    const prefix = join(dir, "prefix");
    const env = baseEnv({ PATH: `${join(prefix, "bin")}${delimiter}${process.env.PATH}` });
    await npmGlobalInstall(prefix, [...SHARED, "adapter-telegram"], dir, env);
    return {
      bin: join(prefix, "bin"),
      root: join(prefix, "lib", "node_modules"),
      env,
      installHint: "npm install -g",
    };
  },
  async pnpm(dir) {
    const home = join(dir, "pnpm-home");
    const global = join(home, "global", "5");
    mkdirSync(global, { recursive: true });
    // The registry stand-in: pnpm resolves @switchboard/* dependencies through overrides to the tarballs.
    const overrides = Object.fromEntries(
      ["core", "agent", "api-server", "console"].map((n) => [`@switchboard/${n}`, `file:${tgz(n)}`]),
    );
    writeFileSync(join(global, "package.json"), JSON.stringify({ pnpm: { overrides } }));
    const env = baseEnv({ PNPM_HOME: home, PATH: `${home}${delimiter}${process.env.PATH}` });
    const store = sh("pnpm", ["store", "path"], ROOT).stdout.trim();
    await shAsync(
      "pnpm",
      [
        "add",
        "-g",
        "--allow-build=better-sqlite3",
        `--config.store-dir=${store}`,
        tgz("gateway"),
        tgz("adapter-telegram"),
      ],
      dir,
      env,
    );
    return { bin: home, root: global, env, installHint: "pnpm add -g" };
  },
};

/** The gateway with only the Yuanbao adapter: the same tarballs, without Telegram's. */
async function installYuanbao(dir: string): Promise<Install> {
  const prefix = join(dir, "prefix");
  const env = baseEnv({ PATH: `${join(prefix, "bin")}${delimiter}${process.env.PATH}` });
  await npmGlobalInstall(prefix, [...SHARED, "adapter-yuanbao"], dir, env);
  return {
    bin: join(prefix, "bin"),
    root: join(prefix, "lib", "node_modules"),
    env,
    installHint: "npm install -g",
  };
}

/** Every install starts as soon as the tarballs exist, and they run side by side. */
const installs = new Map<string, Promise<Install>>();
beforeAll(() => {
  for (const [name, install] of [...Object.entries(MANAGERS), ["yuanbao", installYuanbao] as const]) {
    const dir = join(work, name);
    mkdirSync(dir);
    const p = install(dir);
    p.catch(() => {}); // awaited (and reported) by the describe block
    installs.set(name, p);
  }
});

for (const pm of Object.keys(MANAGERS)) {
  describe(`a global ${pm} install of the gateway and the Telegram adapter`, () => {
    let inst: Install;
    const dir = join(work, pm);
    const run = (args: string[], env = inst.env) =>
      spawnSync(join(inst.bin, "switchboard"), args, { encoding: "utf8", env, cwd: dir });

    beforeAll(async () => {
      inst = await installs.get(pm)!;
    }, 400_000);

    it("puts `switchboard` on PATH and no other platform's SDK on disk", () => {
      const which = spawnSync("sh", ["-c", "command -v switchboard"], { encoding: "utf8", env: inst.env });
      expect(which.stdout.trim()).toBe(join(inst.bin, "switchboard"));
      const names = installedNames(inst.root);
      expect(names.has("grammy")).toBe(true);
      for (const other of [...OTHER_SDKS, "@switchboard/adapter-discord", "@switchboard/adapter-yuanbao"])
        expect(names.has(other), other).toBe(false);
    });

    it("switchboard init && switchboard run answers a Telegram message", async () => {
      const home = join(dir, "home");
      const init = spawnSync(
        "sh",
        ["-c", `switchboard init --home ${home} && switchboard config check --home ${home}`],
        {
          encoding: "utf8",
          env: inst.env,
        },
      );
      expect(init.status, init.stderr).toBe(0);
      expect(init.stdout).toContain(`switchboard run --home ${home}`);
      const file = join(home, "config.yaml");
      writeFileSync(
        file,
        readFileSync(file, "utf8")
          .replace("port: 8642", "port: 0")
          .replace(
            "platforms: {}",
            `platforms:\n  telegram:\n    token: "${TOKEN}"\n    api_url: ${fakeUrl}\n    poll_timeout_s: 0\n    allow_all_users: true`,
          ),
      );
      const child = spawn(join(inst.bin, "switchboard"), ["run", "--home", home], {
        stdio: ["ignore", "pipe", "pipe"],
        env: inst.env,
      });
      let out = "";
      child.stdout.on("data", (c: Buffer) => (out += c.toString()));
      child.stderr.on("data", (c: Buffer) => (out += c.toString()));
      const exited = new Promise((r) => child.on("exit", r));
      try {
        const deadline = Date.now() + 20_000;
        while (!out.includes("connected") && Date.now() < deadline)
          await new Promise((r) => setTimeout(r, 50));
        expect(out).toContain('telegram account \\"default\\" connected');
        const id = updates.length + 1;
        updates.push({
          update_id: id,
          message: {
            message_id: 10 + id,
            date: 0,
            chat: { id: 40 + id, type: "private" },
            from: { id: 40 + id, is_bot: false, first_name: "Ada" },
            text: `hello from ${pm}`,
          },
        });
        while (!sent.some((s) => s.text.includes(pm)) && Date.now() < deadline)
          await new Promise((r) => setTimeout(r, 50));
        expect(sent.find((s) => s.text.includes(pm))).toMatchObject({
          chat_id: 40 + id,
          text: `[main] hello from ${pm}`,
        });
        // The console ships its own scripts and uPlot from its dependency (no CDN).
        const url = /listening on (http:\/\/[^\s"\\]+)/.exec(out)?.[1];
        expect(url, out).toBeDefined();
        for (const asset of ["console.js", "live.js", "uplot.js"]) {
          // No keep-alive: an idle pooled connection would hold the gateway's shutdown open.
          const res = await getOnce(`${url}/console/assets/${asset}`);
          expect(res.status, asset).toBe(200);
          expect(res.body.length, asset).toBeGreaterThan(100);
        }
      } finally {
        child.kill("SIGTERM");
        await exited;
      }
    }, 60_000);

    it("a configured adapter that is not installed fails with the exact install command", () => {
      const home = join(dir, "discord-home");
      mkdirSync(home);
      writeFileSync(join(home, "config.yaml"), 'platforms:\n  discord: { token: "x" }\n');
      for (const cmd of [["config", "check"], ["run"]]) {
        const r = run([...cmd, "--home", home]);
        expect(r.status, r.stderr).toBe(2);
        expect(r.stderr).toContain(`run \`${inst.installHint} @switchboard/adapter-discord\``);
      }
    });
  });
}

describe("a global npm install of the gateway and only the Yuanbao adapter", () => {
  let inst: Install;
  let yb: FakeYuanbao;
  const dir = join(work, "yuanbao");

  beforeAll(async () => {
    inst = await installs.get("yuanbao")!;
    yb = await FakeYuanbao.start();
  }, 400_000);

  afterAll(async () => {
    await yb?.close();
  });

  it("ships the protobuf definitions and no other platform's adapter or SDK", () => {
    const adapter = join(inst.root, "@switchboard", "adapter-yuanbao");
    expect(existsSync(join(adapter, "proto", "yuanbao.proto"))).toBe(true);
    const names = installedNames(inst.root);
    expect(names.has("protobufjs")).toBe(true);
    for (const other of [
      ...OTHER_SDKS.filter((s) => s !== "protobufjs"),
      "grammy",
      "@switchboard/adapter-telegram",
    ])
      expect(names.has(other), other).toBe(false);
  });

  it("switchboard config check && switchboard run answers a Yuanbao message", async () => {
    const home = join(dir, "home");
    mkdirSync(home);
    const bot = yb.bot();
    writeFileSync(
      join(home, "config.yaml"),
      `api_server: { port: 0 }\nplatforms:\n  yuanbao:\n    app_id: ${bot.appId}\n    app_secret: ${bot.appSecret}\n    ws_url: ${yb.wsUrl}\n    api_domain: ${yb.url}\n    debounce_ms: 0\n    allow_all_users: true\n`,
    );
    const check = spawnSync(join(inst.bin, "switchboard"), ["config", "check", "--home", home], {
      encoding: "utf8",
      env: inst.env,
    });
    expect(check.status, check.stderr).toBe(0);
    expect(check.stdout).toContain("yuanbao (default)");
    const child = spawn(join(inst.bin, "switchboard"), ["run", "--home", home], {
      stdio: ["ignore", "pipe", "pipe"],
      env: inst.env,
    });
    let out = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    child.stderr.on("data", (c: Buffer) => (out += c.toString()));
    const exited = new Promise((r) => child.on("exit", r));
    try {
      const deadline = Date.now() + 20_000;
      while (!out.includes("connected") && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(out).toContain('yuanbao account \\"default\\" connected');
      await yb.inject({ chatType: "dm", chatId: "ada", userId: "ada", text: "hello packed" });
      const reply = await yb.waitForSent((m) => m.text.includes("hello packed"), 10_000);
      expect(reply).toMatchObject({ chatId: "ada", text: "[main] hello packed" });
    } finally {
      child.kill("SIGTERM");
      await exited;
    }
  }, 60_000);
});
