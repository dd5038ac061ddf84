import { createAgentRunner } from "@switchboard/agent";
import { type StubLlm, startStubLlm } from "@switchboard/testing";
import { principalIdOfKey } from "../src/auth.ts";
import { sessionFor } from "../src/session.ts";
import { KEYS, startApi, type TestApi } from "./helpers.ts";

/** The stored session id of a public session id sent to `agent` with the stub API's key (`KEYS.admin`). */
export const storedSessionId = (agent: string, publicId: string): string =>
  sessionFor(agent, publicId, principalIdOfKey(KEYS.admin)).sessionId;

export interface StubApi {
  stub: StubLlm;
  api: TestApi;
  /** Base URL of the API, ending in `/v1`. */
  baseURL: string;
  close(): Promise<void>;
}

/**
 * The real agent runtime behind the API, its model the stub LLM through an `openai-compatible` provider:
 * agent `main` (all toolsets) and `bare` (no toolsets). `extra` is merged into the config.
 */
export async function startStubApi(extra: Record<string, unknown> = {}): Promise<StubApi> {
  const stub = await startStubLlm();
  const { agents, api_server, providers, ...rest } = extra as {
    agents?: Record<string, unknown>;
    api_server?: Record<string, unknown>;
    providers?: Record<string, unknown>;
  };
  const model = { provider: "stub", name: "stub-model" };
  const api = await startApi(
    {
      providers: { stub: { kind: "openai-compatible", base_url: stub.url }, ...providers },
      agents: { main: { model }, bare: { model, toolsets: [] }, ...agents },
      api_server: { keys: [{ key: KEYS.admin, agents: "*" }], ...api_server },
      ...rest,
    },
    { runner: createAgentRunner({ maxRetries: 0 }) },
  );
  return {
    stub,
    api,
    baseURL: `${api.url}/v1`,
    async close() {
      await api.close();
      await stub.close();
    },
  };
}
