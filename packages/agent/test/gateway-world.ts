import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  buildConfig,
  createGateway,
  type GatewayRuntime,
  openSessionStore,
  type SessionStore,
} from "@switchboard/core";
import { platform, type StubLlm, startStubLlm, TestAdapter, TestNetwork } from "@switchboard/testing";
import { createAgentRunner, type SwitchboardAgentRunner } from "../src/index.ts";

/** A real gateway with the real agent runtime, the test platform and the stub LLM (as `local`). */
export interface World {
  home: string;
  net: TestNetwork;
  gateway: GatewayRuntime;
  store: SessionStore;
  stub: StubLlm;
  runner: SwitchboardAgentRunner;
  close(): Promise<void>;
}

export async function startWorld(
  build: (ctx: { stubUrl: string; home: string }) => Record<string, unknown>,
  options: {
    platforms?: Record<string, typeof platform>;
    /** The test adapter edits messages (streamed replies) with this interval. */
    editIntervalMs?: number;
  } = {},
): Promise<World> {
  const home = mkdtempSync(join(tmpdir(), "sb-world-"));
  const stub = await startStubLlm();
  const raw = build({ stubUrl: stub.url, home });
  // Turns start at once (no `session.debounce_s` wait): the tests time replies.
  const config = buildConfig(
    { session: { debounce_s: 0 }, ...raw },
    {
      file: undefined,
      home,
      env: {},
      platforms: { test: platform, ...(options.platforms ?? {}) },
    },
  );
  const store = openSessionStore(join(home, "state.db"));
  const net = new TestNetwork();
  const runner = createAgentRunner();
  const adapter = new TestAdapter({
    network: net,
    ...(options.editIntervalMs !== undefined ? { editIntervalMs: options.editIntervalMs } : {}),
  });
  const gateway = createGateway({ config, store, runner, adapters: [adapter] });
  await gateway.start();
  return {
    home,
    net,
    gateway,
    store,
    stub,
    runner,
    async close() {
      await gateway.stop({ timeoutMs: 2000 });
      await runner.close();
      store.close();
      await stub.close();
      rmSync(home, { recursive: true, force: true });
    },
  };
}

/** `providers.local` pointing at the stub. */
export const localProvider = (stubUrl: string, extra: Record<string, unknown> = {}) => ({
  local: { kind: "openai-compatible", base_url: stubUrl, ...extra },
});
export const LOCAL_MODEL = { provider: "local", name: "m" };
