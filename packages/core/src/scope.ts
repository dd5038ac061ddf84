import { AsyncLocalStorage } from "node:async_hooks";
import { join } from "node:path";
import type { AgentProfile } from "./agents.ts";
import { defaultRootHome } from "./agents.ts";
import { readDotenv } from "./dotenv.ts";
import { secretValues } from "./redact.ts";

const storage = new AsyncLocalStorage<AgentProfile>();
let rootProfile: AgentProfile | undefined;

/** Run `fn` as agent `profile`: path getters and `secret()` inside it (across awaits, timers, streams) see this agent. */
export function useAgent<T>(profile: AgentProfile, fn: () => T): T {
  return storage.run(profile, fn);
}

/** The agent of the current scope, or `undefined` outside any. */
export function currentAgent(): AgentProfile | undefined {
  return storage.getStore();
}

/** Set the profile used outside any scope (the gateway sets `main`). Without it the root home is derived from the environment. */
export function setRootAgent(profile: AgentProfile | undefined): void {
  rootProfile = profile;
}

export function agentHome(): string {
  return (storage.getStore() ?? rootProfile)?.home ?? defaultRootHome();
}
export function memoryDir(): string {
  return join(agentHome(), "memories");
}
export function skillsDir(): string {
  return join(agentHome(), "skills");
}
export function cronDir(): string {
  return join(agentHome(), "cron");
}

/**
 * Look up a secret for the current agent, failing closed: the agent's own `.env`, then its `env:` map;
 * the root `.env` and the process environment only for `main` or an agent with `secrets: inherit`.
 */
export function secret(name: string): string | undefined {
  const value = lookupSecret(name);
  // Also a key from the process environment: once read as a secret, it never reaches a log line.
  secretValues.add(value);
  return value;
}

function lookupSecret(name: string): string | undefined {
  const profile = storage.getStore() ?? rootProfile;
  if (!profile)
    return present(readDotenv(join(defaultRootHome(), ".env"))[name]) ?? present(process.env[name]);
  const own = present(readDotenv(join(profile.home, ".env"))[name]) ?? present(profile.env[name]);
  if (own !== undefined) return own;
  if (profile.isMain || profile.secrets === "inherit") {
    return present(readDotenv(join(profile.rootHome, ".env"))[name]) ?? present(profile.inheritedEnv()[name]);
  }
  return undefined;
}

/** An empty value (`KEY=` in a .env) counts as not set, so the next source is consulted. */
function present(value: string | undefined): string | undefined {
  return value === undefined || value === "" ? undefined : value;
}

/** Where the current agent's secret `name` should go, for error messages. */
export function secretHint(
  name: string,
  profile: AgentProfile | undefined = currentAgent() ?? rootProfile,
): string {
  if (!profile) return `set ${name} in ${join(defaultRootHome(), ".env")} or the environment`;
  const file = join(profile.home, ".env");
  if (profile.isMain || profile.secrets === "inherit") return `set ${name} in ${file} or the environment`;
  return `set ${name} in ${file} (agent "${profile.id}" does not inherit main's secrets; or set agents.${profile.id}.secrets: inherit)`;
}
