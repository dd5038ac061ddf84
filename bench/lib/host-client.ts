import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

/**
 * The parent's side of `gateway-host.ts`: a gateway in a child process of its own, driven over IPC, so the
 * fake platform (in the parent) and the gateway each get a core, as a platform and a gateway would.
 */
export type HostRequest =
  /** Build the config from these `platforms:` sections (`test` is the in-memory platform) and start. */
  | { op: "start"; platforms: Record<string, Record<string, unknown>> }
  /** Resolve once no turn is queued or running. */
  | { op: "idle" }
  /** Collect garbage now. */
  | { op: "gc" }
  /** This process's CPU time so far (user + system, every thread), in µs. */
  | { op: "cpu" }
  /** Resident set size and used heap in MB after two garbage collections. */
  | { op: "rss" }
  /** One programmatic turn through `gateway.turn` (no platform involved). */
  | { op: "turn" }
  /** A load run on the in-memory test platform, injected inside the host (`injectAndAwait`). */
  | { op: "local-run"; run: number; n: number; chats: number; timeoutMs: number }
  /** Stop the gateway, close the store and listener; answers with the handles left open. */
  | { op: "stop" };

export type HostReply = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: string };
export type HostHello = { op: "listening"; url: string };

/** What `rss` reports, in MB. */
export interface Memory {
  rss: number;
  heap: number;
}

/** What `stop` reports: the handle types still open after everything was closed, counted. */
export type Lingering = Record<string, number>;

const NODE_FLAGS = ["--conditions=@switchboard/source", "--expose-gc"];
const HOST_FILE = fileURLToPath(new URL("./gateway-host.ts", import.meta.url));
const DEFAULT_TIMEOUT_MS = 60_000;

export class GatewayHost {
  /** The gateway's HTTP listener, for webhook platforms. */
  readonly url: string;
  readonly #child: ChildProcess;
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  readonly #exited: Promise<number | null>;
  #nextId = 1;

  private constructor(child: ChildProcess, url: string, exited: Promise<number | null>) {
    this.#child = child;
    this.url = url;
    this.#exited = exited;
    child.on("message", (m: HostReply) => {
      const p = this.#pending.get(m.id);
      if (!p) return;
      this.#pending.delete(m.id);
      if (m.ok) p.resolve(m.value);
      else p.reject(new Error(`gateway host: ${m.error}`));
    });
  }

  static async spawn(): Promise<GatewayHost> {
    const child = spawn(process.execPath, [...NODE_FLAGS, HOST_FILE], {
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("the gateway host did not start within 30 s")), 30_000);
      child.once("message", (m: HostHello) => {
        clearTimeout(timer);
        resolve(m.url);
      });
      void exited.then((code) => reject(new Error(`the gateway host exited with ${code} before listening`)));
    });
    const host = new GatewayHost(child, url, exited);
    void exited.then((code) => {
      for (const p of host.#pending.values()) p.reject(new Error(`the gateway host exited with ${code}`));
      host.#pending.clear();
    });
    return host;
  }

  request<T>(request: HostRequest, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<T> {
    const id = this.#nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`gateway host: no answer to ${request.op} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(id, {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v as T);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.#child.send({ id, ...request });
    });
  }

  /** Stop the gateway and wait for the process to end (killed after 10 s); returns the handles it left open. */
  async stop(): Promise<Lingering> {
    const lingering = await this.request<Lingering>({ op: "stop" }, 15_000).catch((err: unknown) => ({
      [`stop failed: ${err instanceof Error ? err.message : String(err)}`]: 1,
    }));
    const t0 = performance.now();
    await this.close();
    // The host gives an uncounted handle 1 s before it exits anyway: a slower exit means something held it.
    if (performance.now() - t0 > 900) lingering["process held open after stop (exit forced)"] = 1;
    return lingering;
  }

  /** Wait for the process to end; kill it when it has not ended within 10 s. */
  async close(): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    let timer: NodeJS.Timeout | undefined;
    const killed = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.#child.kill("SIGKILL");
        resolve();
      }, 10_000);
    });
    await Promise.race([this.#exited.then(() => undefined), killed]);
    clearTimeout(timer);
  }
}
