import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { createFakeDiscord } from "./fake-discord.ts";
import { adapterFor, recordingContext } from "./helpers.ts";

const address = (chatId: string) => ({ platform: "discord", account: "default", chatId });
const EXIT_CHECK = fileURLToPath(new URL("./exit-check.ts", import.meta.url));

/** Run exit-check.ts in a fresh node; resolve with its exit code (`null` if it had to be killed) and output. */
function runExitCheck(
  args: string[],
  timeoutMs: number,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--conditions=@switchboard/source", EXIT_CHECK, ...args], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    let killed = false;
    const timer = setTimeout(() => {
      killed = true;
      child.kill("SIGKILL");
    }, timeoutMs);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code: killed ? null : code, stdout, stderr });
    });
  });
}

describe("DiscordAdapter lifecycle", () => {
  it("stop() leaves nothing that keeps the process alive: it exits on its own", async () => {
    const run = await runExitCheck([], 15_000);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    // stdout/stderr pipes belong to the test harness; nothing else may be left once the fake is closed.
    const { handles } = JSON.parse(run.stdout.trim()) as { handles: string[] };
    expect(handles.filter((h) => h === "Timeout" || h === "TCPSocketWrap" || h === "TCPWrap")).toEqual([]);
  });

  it("without stop() the gateway client keeps reconnecting and the process does not exit", async () => {
    // The control for the test above: it proves the child would hang if the adapter leaked.
    const run = await runExitCheck(["--skip-stop"], 3000);
    expect(run.code).toBeNull();
  });

  it("stop() closes the gateway socket and the REST pool while the platform is still up", async () => {
    const sockets = () => process.getActiveResourcesInfo().filter((t) => t.startsWith("TCP")).length;
    const fake = await createFakeDiscord();
    const withFake = sockets();
    const adapter = adapterFor(fake);
    const rec = recordingContext();
    try {
      await adapter.start(rec.ctx);
      await fake.inject({ chatType: "dm", chatId: "5700", userId: "2001", text: "ping" });
      await rec.next();
      await adapter.send(address("5700"), { text: "pong" });
      expect(sockets()).toBeGreaterThan(withFake);
      await adapter.stop();
      // Both ends of every connection live in this process: the fake's sockets close only if the adapter's did.
      const deadline = Date.now() + 2000;
      while (sockets() !== withFake && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(sockets()).toBe(withFake);
    } finally {
      await fake.close();
    }
  });
});
