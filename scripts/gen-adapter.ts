#!/usr/bin/env node
// Scaffold a new adapter package: `pnpm gen:adapter <name> [--dir packages]`.
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

const args = process.argv.slice(2);
const name = args.find((a) => !a.startsWith("--"));
const dirFlag = args.indexOf("--dir");
const root = resolve(
  dirFlag >= 0 && args[dirFlag + 1] ? args[dirFlag + 1]! : join(import.meta.dirname, "..", "packages"),
);

if (!name || !/^[a-z][a-z0-9]{1,30}$/.test(name)) {
  process.stderr.write(
    "usage: pnpm gen:adapter <name>   (lowercase letters and digits, e.g. `mattermost`)\n",
  );
  process.exit(2);
}
const Name = name[0]!.toUpperCase() + name.slice(1);
const dir = join(root, `adapter-${name}`);
if (existsSync(dir)) {
  process.stderr.write(`${dir} already exists: pick another name or remove it\n`);
  process.exit(1);
}

const files: Record<string, string> = {
  "package.json": `${JSON.stringify(
    {
      name: `@switchboard/adapter-${name}`,
      version: "0.1.0",
      description: `${Name} for Switchboard: one platform adapter package, loaded by the gateway only when config.yaml names it`,
      keywords: ["switchboard", "ai-agents", "gateway", name, "bot"],
      homepage: `https://github.com/switchboard-gateway/switchboard/tree/main/packages/adapter-${name}#readme`,
      bugs: { url: "https://github.com/switchboard-gateway/switchboard/issues" },
      repository: {
        type: "git",
        url: "git+https://github.com/switchboard-gateway/switchboard.git",
        directory: `packages/adapter-${name}`,
      },
      license: "MIT",
      type: "module",
      engines: { node: ">=22" },
      main: "./dist/index.js",
      types: "./dist/index.d.ts",
      exports: {
        ".": {
          "@switchboard/source": "./src/index.ts",
          types: "./dist/index.d.ts",
          default: "./dist/index.js",
        },
      },
      files: ["dist", "README.md", "LICENSE"],
      publishConfig: { access: "public" },
      scripts: {
        build: "tsc -p tsconfig.build.json",
        test: "vitest run",
        typecheck: "tsc -p ../../tsconfig.json --noEmit",
      },
      dependencies: { "@switchboard/core": "workspace:*", zod: "^4.6.7" },
      devDependencies: { "@switchboard/testing": "workspace:*" },
    },
    null,
    2,
  )}\n`,
  "tsconfig.build.json": `${JSON.stringify(
    {
      extends: "../../tsconfig.base.json",
      compilerOptions: { outDir: "dist", rootDir: "src", customConditions: [] },
      include: ["src"],
      exclude: ["src/**/*.test.ts"],
    },
    null,
    2,
  )}\n`,
  "vitest.config.ts": `import { packageProject } from "../../vitest.shared.ts";\n\nexport default packageProject("adapter-${name}");\n`,
  "src/types.ts": `import { platformCommonSchema } from "@switchboard/core";
import { z } from "zod";

/** One ${Name} account's config (section keys overlaid with \`accounts.<name>\`). */
export const ${name}ConfigSchema = platformCommonSchema
  .extend({
    token: z.string({ error: \`is missing: set ${name.toUpperCase()}_TOKEN in ~/.switchboard/.env and write token: $\\{${name.toUpperCase()}_TOKEN}\` }).min(1),
    api_url: z.string().url().default("https://api.${name}.example"),
    poll_interval_ms: z.number().int().min(10).default(1000),
  })
  .strict();

export type ${Name}AdapterConfig = z.output<typeof ${name}ConfigSchema>;

/** An update as the ${Name} API returns it. Replace with the platform's real wire type. */
export interface ${Name}Update {
  id: number;
  message: { id: string; chat: { id: string; type: "private" | "group" }; thread?: string; from: { id: string; name?: string; bot?: boolean }; text: string; mentions_bot?: boolean };
}
`,
  "src/errors.ts": `import { classifyHttpStatus, type PlatformError } from "@switchboard/core";

/** Map a ${Name} API response to core's error hierarchy (429 → rate limit, 401/403 → auth, 5xx → transient). */
export async function ${name}Error(response: Response): Promise<PlatformError> {
  const retryAfter = Number(response.headers.get("retry-after") ?? "1");
  const text = await response.text().catch(() => "");
  return classifyHttpStatus("${name}", response.status, \`${name} API answered \${response.status}: \${text.slice(0, 200)}\`, {
    retryAfterMs: retryAfter * 1000,
  });
}
`,
  "src/format.ts": `/** Markdown → the platform's dialect. ${Name} is assumed to render Markdown; adapt as needed. */
export function toPlatformText(markdown: string): string {
  return markdown;
}

/** Plain-text fallback when the platform rejects formatting. */
export function toPlainText(markdown: string): string {
  return markdown.replace(/[*_\`~]/g, "");
}
`,
  "src/normalize.ts": `import type { InboundMessage } from "@switchboard/core";
import type { ${Name}Update } from "./types.ts";

/** A ${Name} update → core's InboundMessage. */
export function normalize(update: ${Name}Update, account: string, botId: string): InboundMessage {
  const m = update.message;
  return {
    platform: "${name}",
    account,
    messageId: m.id,
    chat: { id: m.chat.id, type: m.thread ? "thread" : m.chat.type === "private" ? "dm" : "group" },
    ...(m.thread ? { threadId: m.thread } : {}),
    user: { id: m.from.id, ...(m.from.name ? { name: m.from.name } : {}), isBot: m.from.bot ?? false },
    text: m.text,
    mentionsBot: m.mentions_bot ?? false,
    isSelf: m.from.id === botId,
  };
}
`,
  "src/index.ts": `import type {
  AdapterContext,
  Address,
  OutboundMessage,
  PlatformAdapter,
  PlatformCapabilities,
  PlatformDefinition,
  SentMessage,
} from "@switchboard/core";
import { TransientError } from "@switchboard/core";
import { ${name}Error } from "./errors.ts";
import { toPlainText, toPlatformText } from "./format.ts";
import { normalize } from "./normalize.ts";
import { type ${Name}AdapterConfig, ${name}ConfigSchema, type ${Name}Update } from "./types.ts";

export * from "./format.ts";
export * from "./normalize.ts";
export * from "./types.ts";

/** One ${Name} bot account: polls \`GET /updates\`, sends with \`POST /messages\`. */
export class ${Name}Adapter implements PlatformAdapter {
  readonly platform = "${name}";
  readonly account: string;
  readonly capabilities: PlatformCapabilities = { maxMessageLength: 4000, edit: false, typing: false, threads: true, format: "markdown" };
  readonly #config: ${Name}AdapterConfig;
  #abort: AbortController | undefined;
  #loop: Promise<void> | undefined;
  #offset = 0;
  #botId = "";

  constructor(config: ${Name}AdapterConfig, options: { account?: string } = {}) {
    this.#config = config;
    this.account = options.account ?? "default";
  }

  async #call(path: string, init?: RequestInit): Promise<Response> {
    let response: Response;
    try {
      response = await fetch(\`\${this.#config.api_url}\${path}\`, {
        ...init,
        headers: { authorization: \`Bearer \${this.#config.token}\`, "content-type": "application/json" },
        ...(this.#abort ? { signal: this.#abort.signal } : {}),
      });
    } catch (err) {
      throw new TransientError("${name}", \`${name} API unreachable: \${(err as Error).message}\`, { cause: err });
    }
    if (!response.ok) throw await ${name}Error(response);
    return response;
  }

  async start(ctx: AdapterContext): Promise<void> {
    this.#abort = new AbortController();
    const me = (await (await this.#call("/me")).json()) as { id: string };
    this.#botId = me.id;
    const signal = this.#abort.signal;
    this.#loop = (async () => {
      while (!signal.aborted) {
        try {
          const updates = (await (await this.#call(\`/updates?offset=\${this.#offset}\`)).json()) as ${Name}Update[];
          for (const u of updates) {
            this.#offset = Math.max(this.#offset, u.id + 1);
            await ctx.dispatch(normalize(u, this.account, this.#botId));
          }
          if (updates.length === 0) await new Promise((r) => setTimeout(r, this.#config.poll_interval_ms));
        } catch (err) {
          if (signal.aborted) return;
          ctx.logger.warn({ err }, "${name} polling failed; retrying");
          await new Promise((r) => setTimeout(r, this.#config.poll_interval_ms));
        }
      }
    })();
  }

  async stop(): Promise<void> {
    this.#abort?.abort();
    await this.#loop;
  }

  async send(address: Address, message: OutboundMessage): Promise<SentMessage> {
    const body = { chat_id: address.chatId, thread: address.threadId, text: toPlatformText(message.text), format: "markdown" };
    let response: Response;
    try {
      response = await this.#call("/messages", { method: "POST", body: JSON.stringify(body) });
    } catch (err) {
      if ((err as { status?: number }).status !== 400) throw err;
      // The platform rejected the markup: send plain text once.
      response = await this.#call("/messages", { method: "POST", body: JSON.stringify({ ...body, text: toPlainText(message.text), format: "plain" }) });
    }
    return { messageId: String(((await response.json()) as { id: string }).id) };
  }
}

export function create${Name}Adapter(config: ${Name}AdapterConfig, options: { account?: string } = {}): ${Name}Adapter {
  return new ${Name}Adapter(config, options);
}

export const platform: PlatformDefinition<typeof ${name}ConfigSchema> = {
  name: "${name}",
  configSchema: ${name}ConfigSchema,
  create: (config, { account }) => create${Name}Adapter(config, { account }),
};
`,
  [`test/fake-${name}.ts`]: `import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { type FakeInbound, type FakePlatform, type FakeSent, SentLog } from "@switchboard/testing";

/** A fake ${Name} API on 127.0.0.1: \`GET /me\`, \`GET /updates\`, \`POST /messages\`, several tokens. */
export class Fake${Name} implements FakePlatform {
  url = "";
  readonly tokens = new Map<string, string>([["token-default", "default"], ["token-second", "second"]]);
  #server: Server | undefined;
  #updates = new Map<string, unknown[]>();
  #sent = new SentLog();
  #fail: Array<{ status: number; retryAfter: number }> = [];
  #rejectFormatted = false;
  #next = 1;

  async start(): Promise<this> {
    this.#server = createServer((req, res) => {
      const account = this.tokens.get((req.headers.authorization ?? "").replace("Bearer ", ""));
      const json = (status: number, body: unknown, headers: Record<string, string> = {}) => {
        res.writeHead(status, { "content-type": "application/json", ...headers });
        res.end(JSON.stringify(body));
      };
      if (!account) return json(401, { error: "bad token" });
      const url = new URL(req.url ?? "/", "http://x");
      if (url.pathname === "/me") return json(200, { id: \`bot-\${account}\` });
      if (url.pathname === "/updates") {
        const queue = this.#updates.get(account) ?? [];
        this.#updates.set(account, []);
        return json(200, queue);
      }
      if (url.pathname === "/messages" && req.method === "POST") {
        let raw = "";
        req.on("data", (c) => (raw += c));
        req.on("end", () => {
          const f = this.#fail.shift();
          if (f) return json(f.status, { error: "injected" }, { "retry-after": String(f.retryAfter) });
          const body = JSON.parse(raw) as { chat_id: string; thread?: string; text: string; format: string };
          if (body.format !== "plain" && this.#rejectFormatted) {
            this.#rejectFormatted = false;
            return json(400, { error: "cannot parse markup" });
          }
          const sent: FakeSent = { account, chatId: body.chat_id, ...(body.thread ? { threadId: body.thread } : {}), text: body.text, format: body.format, raw: body };
          this.#sent.push(sent);
          json(200, { id: \`s\${this.#next++}\` });
        });
        return;
      }
      json(404, { error: "not found" });
    });
    await new Promise<void>((r) => this.#server!.listen(0, "127.0.0.1", r));
    this.url = \`http://127.0.0.1:\${(this.#server.address() as AddressInfo).port}\`;
    return this;
  }

  async inject(m: FakeInbound): Promise<void> {
    const account = m.account ?? "default";
    const queue = this.#updates.get(account) ?? [];
    queue.push({
      id: this.#next++,
      message: {
        id: m.messageId ?? \`m\${this.#next++}\`,
        chat: { id: m.chatId, type: m.chatType === "dm" ? "private" : "group" },
        ...(m.threadId ? { thread: m.threadId } : {}),
        from: { id: m.fromSelf ? \`bot-\${account}\` : m.userId, ...(m.userName ? { name: m.userName } : {}) },
        text: m.text,
        mentions_bot: m.mention ?? false,
      },
    });
    this.#updates.set(account, queue);
  }

  sent(): FakeSent[] {
    return this.#sent.all();
  }

  waitForSent(p: (m: FakeSent) => boolean, timeoutMs = 5000): Promise<FakeSent> {
    return this.#sent.waitFor(p, timeoutMs);
  }

  failNextSends(status: 429 | 500 | 502 | 503, count: number, retryAfterSeconds = 1): void {
    for (let i = 0; i < count; i++) this.#fail.push({ status, retryAfter: retryAfterSeconds });
  }

  rejectNextFormatted(): void {
    this.#rejectFormatted = true;
  }

  async close(): Promise<void> {
    if (!this.#server) return;
    this.#server.closeAllConnections();
    await new Promise((r) => this.#server!.close(r));
    this.#server = undefined;
  }
}
`,
  "test/conformance-descriptors.ts": `import type { ConformanceDescriptors } from "@switchboard/testing";
import { platform } from "../src/index.ts";
import { Fake${Name} } from "./fake-${name}.ts";

/** This adapter's conformance descriptors by receive mode; the meta-test runs them too. */
export const descriptors: ConformanceDescriptors = {
  polling: {
    name: "${name}",
    definition: platform,
    startFake: () => new Fake${Name}().start(),
    config: (fake) => ({
      api_url: (fake as Fake${Name}).url,
      poll_interval_ms: 20,
      accounts: { default: { token: "token-default" }, second: { token: "token-second" } },
    }),
  },
};
`,
  "test/conformance.test.ts": `import { adapterConformance } from "@switchboard/testing";
import { descriptors } from "./conformance-descriptors.ts";

adapterConformance(descriptors.polling!);
`,
  "README.md": `# @switchboard/adapter-${name}

${Name} for Switchboard. Generated by \`pnpm gen:adapter ${name}\`: replace the placeholder API calls
in \`src/index.ts\` and the fake in \`test/fake-${name}.ts\` with the real platform's.

## Minimal config

\`\`\`yaml
platforms:
  ${name}:
    token: \${${name.toUpperCase()}_TOKEN}
    allowed_users: ["12345"]
\`\`\`

## Config keys

| key | default | meaning |
|---|---|---|
| \`token\` | — (required) | the bot token |
| \`api_url\` | \`https://api.${name}.example\` | the API base URL (tests point it at the fake) |
| \`poll_interval_ms\` | \`1000\` | how long to wait between empty polls |
| \`allowed_users\`, \`allow_all_users\`, \`require_mention\`, \`streaming\`, \`streaming_tool_status\`, \`accounts\` | | common keys, see docs/configuration.md |
`,
};

for (const [file, text] of Object.entries(files)) {
  mkdirSync(join(dir, file, ".."), { recursive: true });
  writeFileSync(join(dir, file), text);
}
const repo = join(import.meta.dirname, "..");
copyFileSync(join(repo, "LICENSE"), join(dir, "LICENSE"));
// Format with the repository's own Biome settings, so the package passes `pnpm lint` as generated.
const biome = join(repo, "node_modules", "@biomejs", "biome", "bin", "biome");
if (existsSync(biome)) {
  const r = spawnSync(process.execPath, [biome, "check", "--write", dir], { cwd: repo, encoding: "utf8" });
  if (r.status !== 0)
    process.stderr.write(`warning: biome could not format ${dir}:\n${r.stdout}${r.stderr}\n`);
}
process.stdout.write(
  `created ${dir}\nnext: pnpm install, then pnpm vitest run --project adapter-${name} (see docs/adding-a-platform.md)\n`,
);
