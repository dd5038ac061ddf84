import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { memoryLogger } from "@switchboard/core";
import { afterAll, describe, expect, it } from "vitest";
import { startGateway } from "../src/run.ts";

const home = mkdtempSync(join(tmpdir(), "sb-shutdown-"));
afterAll(() => rmSync(home, { recursive: true, force: true }));

describe("a stream cut by shutdown", () => {
  it("ends with an error chunk and [DONE], never silently", { timeout: 20_000 }, async () => {
    writeFileSync(
      join(home, "config.yaml"),
      "api_server: { port: 0 }\ncron: { enabled: false }\nshutdown_timeout_s: 0.3\nagents: { main: {} }\n",
    );
    const gw = await startGateway({ home, logger: memoryLogger(), watchConfig: false, env: {} });
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        model: "main",
        stream: true,
        messages: [{ role: "user", content: "/sleep 15000" }],
      }),
    });
    expect(res.status).toBe(200);
    const body = res.text();
    // The turn is running (asleep in the model) when the gateway is told to stop.
    await new Promise((r) => setTimeout(r, 200));
    const stopped = gw.stop();
    const text = await body;
    await stopped;
    const frames = text
      .split("\n\n")
      .filter((f) => f.startsWith("data: "))
      .map((f) => f.slice(6));
    expect(frames.at(-1)).toBe("[DONE]");
    const error = JSON.parse(frames.at(-2) ?? "{}") as { error?: { message: string; code: string } };
    expect(error.error).toMatchObject({ code: "shutting_down" });
    expect(error.error?.message).toMatch(/shutting down/);
  });
});
