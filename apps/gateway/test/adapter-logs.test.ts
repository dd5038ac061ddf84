import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { type RunningGateway, startGateway } from "../src/run.ts";

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

/** A port nothing listens on: bound, then closed. */
async function deadPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

function captureLogger() {
  const raw: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      raw.push(...String(chunk).split("\n").filter(Boolean));
      cb();
    },
  });
  return { raw, logger: pino({ level: "info", base: undefined }, stream) };
}

describe("adapter log lines", () => {
  it("a platform that cannot be reached is never logged as connected, and platform/account appear once per line", async () => {
    const home = mkdtempSync(join(tmpdir(), "sb-adapter-logs-"));
    cleanup.push(() => rmSync(home, { recursive: true, force: true }));
    const port = await deadPort();
    writeFileSync(
      join(home, "config.yaml"),
      `api_server: { port: 0 }\nplatforms:\n  telegram:\n    token: "123:ABC"\n    api_url: http://127.0.0.1:${port}\n    allow_all_users: true\n`,
    );
    const { raw, logger } = captureLogger();
    const gw: RunningGateway = await startGateway({ home, logger, watchConfig: false });
    cleanup.push(() => gw.stop());
    const lines = raw.map((l) => JSON.parse(l) as Record<string, unknown>);
    const telegram = raw.filter((l) => l.includes('"platform":"telegram"'));
    expect(telegram.length).toBeGreaterThan(0);
    for (const line of telegram) {
      expect(line.match(/"platform":/g), line).toHaveLength(1);
      expect(line.match(/"account":/g), line).toHaveLength(1);
    }
    expect(lines.some((l) => String(l.msg).endsWith("connected"))).toBe(false);
    expect(
      lines.find((l) => String(l.msg).includes('telegram account "default" is not connected yet')),
    ).toMatchObject({
      platform: "telegram",
      account: "default",
    });
  });
});
