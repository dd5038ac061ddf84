import { type ChildProcess, spawn } from "node:child_process";
import { ReadBuffer, serializeMessage } from "@modelcontextprotocol/sdk/shared/stdio.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";

export interface ScopedStdioOptions {
  command: string;
  args: string[];
  /** The child's entire environment: nothing of the gateway's own is added. */
  env: Record<string, string>;
  cwd: string;
  /** Called with the last lines the child wrote to stderr when it exits. */
  onExit?: (info: { code: number | null; signal: NodeJS.Signals | null; stderr: string }) => void;
}

const STDERR_TAIL = 2048;

/**
 * An MCP stdio client transport that spawns the server with exactly the environment it is given. The
 * SDK's `StdioClientTransport` always merges in the gateway's HOME, LOGNAME, SHELL, TERM and USER, which
 * an agent's server must not see; the framing is the SDK's own (`ReadBuffer`, `serializeMessage`).
 */
export class ScopedStdioTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;
  readonly #options: ScopedStdioOptions;
  readonly #buffer = new ReadBuffer();
  #child: ChildProcess | undefined;
  #stderr = "";

  constructor(options: ScopedStdioOptions) {
    this.#options = options;
  }

  /** The server's process id while it runs. */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  start(): Promise<void> {
    if (this.#child) throw new Error("ScopedStdioTransport already started");
    const o = this.#options;
    return new Promise((resolve, reject) => {
      const child = spawn(o.command, o.args, {
        env: o.env,
        cwd: o.cwd,
        stdio: ["pipe", "pipe", "pipe"],
        shell: false,
        windowsHide: true,
      });
      this.#child = child;
      child.once("error", (err) => {
        reject(err);
        this.onerror?.(err);
      });
      child.once("spawn", () => resolve());
      child.once("close", (code, signal) => {
        this.#child = undefined;
        o.onExit?.({ code, signal, stderr: this.#stderr.trim() });
        this.onclose?.();
      });
      child.stdout?.on("data", (chunk: Buffer) => {
        this.#buffer.append(chunk);
        for (;;) {
          let message: JSONRPCMessage | null;
          try {
            message = this.#buffer.readMessage();
          } catch (err) {
            this.onerror?.(err as Error);
            continue;
          }
          if (message === null) break;
          this.onmessage?.(message);
        }
      });
      child.stderr?.on("data", (chunk: Buffer) => {
        this.#stderr = (this.#stderr + chunk.toString("utf8")).slice(-STDERR_TAIL);
      });
      child.stdin?.on("error", (err) => this.onerror?.(err));
    });
  }

  send(message: JSONRPCMessage): Promise<void> {
    const stdin = this.#child?.stdin;
    if (!stdin?.writable) return Promise.reject(new Error("the MCP server is not running"));
    return new Promise((resolve) => {
      if (stdin.write(serializeMessage(message))) resolve();
      else stdin.once("drain", resolve);
    });
  }

  /** End stdin, then SIGTERM, then SIGKILL, a second apart at most. */
  async close(): Promise<void> {
    const child = this.#child;
    if (!child) return;
    const exited = new Promise<void>((r) => child.once("close", () => r()));
    const wait = (ms: number) => Promise.race([exited, new Promise<void>((r) => setTimeout(r, ms).unref())]);
    child.stdin?.end();
    await wait(1000);
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      await wait(1000);
    }
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await wait(1000);
    this.#buffer.clear();
  }
}
