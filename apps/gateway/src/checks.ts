import { existsSync, statSync } from "node:fs";
import { type GatewayConfig, secret, secretHint, useAgent } from "@switchboard/core";

/** `--home` must name a folder that exists (only `init` creates one): a typo must not check the built-in defaults. */
export function missingHomeError(home: string | undefined): Error | undefined {
  if (home === undefined) return undefined;
  if (!existsSync(home)) {
    return new Error(
      `--home ${home} does not exist: check the path, or create it with \`switchboard init --home ${home}\``,
    );
  }
  if (!statSync(home).isDirectory()) return new Error(`--home ${home} is not a folder`);
  return undefined;
}

/** Agents whose provider key cannot be found in their own scope (the first turn would fail). */
export function providerKeyWarnings(config: GatewayConfig): string[] {
  const out: string[] = [];
  for (const agent of config.registry.list()) {
    const name = agent.provider.apiKeyEnv;
    if (agent.provider.kind === "echo" || !name) continue;
    if (useAgent(agent, () => secret(name)) !== undefined) continue;
    out.push(
      `agent ${agent.id}: provider "${agent.provider.name}" needs ${name}, which is not set for this agent: ${secretHint(name, agent)}`,
    );
  }
  return out;
}
