import { type AgentProfile, secret, secretHint, useAgent } from "@switchboard/core";

const SECRET_RE = /\$\{secret:([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** A value of an MCP server's `env:` or `headers:` that names a secret the agent does not have. */
export class MissingSecretError extends Error {
  override name = "MissingSecretError";
}

/**
 * Replace every `${secret:NAME}` in `values` through `secret()` inside `profile`'s scope, so it fails
 * closed exactly like the agent's provider key: never another agent's `.env`, never the process
 * environment unless the agent inherits it.
 */
export function resolveSecrets(
  profile: AgentProfile,
  values: Record<string, string>,
  where: string,
): Record<string, string> {
  return useAgent(profile, () => {
    const out: Record<string, string> = {};
    for (const [key, raw] of Object.entries(values)) {
      out[key] = raw.replace(SECRET_RE, (_m, name: string) => {
        const value = secret(name);
        if (value === undefined)
          throw new MissingSecretError(
            `${where}.${key} needs the secret ${name}, which agent "${profile.id}" does not have: ${secretHint(name, profile)}`,
          );
        return value;
      });
    }
    return out;
  });
}
