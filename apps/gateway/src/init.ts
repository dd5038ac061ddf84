import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export const STARTER_CONFIG = `# Switchboard configuration. Every key is documented in docs/configuration.md.
# Values like \${VAR} come from .env beside this file or the environment.

default_agent: main

# The model of agents that set none. \`echo\` is offline and replies with what it gets;
# switch to { provider: openai, name: gpt-4.1-mini } once OPENAI_API_KEY is in .env.
model: { provider: echo }

# providers:
#   openai: { kind: openai, api_key_env: OPENAI_API_KEY }
#   local:  { kind: openai-compatible, base_url: http://127.0.0.1:11434/v1 }

agents:
  main: {}
  # support:
  #   model: { provider: openai, name: gpt-4.1-mini }
  #   toolsets: [memory, skills, cron]

# First matching route wins; unmatched messages go to default_agent.
routes: []
#  - match: { platform: telegram, chat_id: "-1009999" }
#    agent: support

platforms: {}
#  telegram:
#    token: \${TELEGRAM_BOT_TOKEN}
#    allowed_users: ["12345"]

api_server:
  host: 127.0.0.1
  port: 8642
  # keys:
  #   - { key: \${SWITCHBOARD_API_KEY}, agents: "*" }

session:
  reset: { mode: none }
`;

export const STARTER_ENV = `# Secrets for the main agent (other agents keep theirs in agents/<id>/.env).
# OPENAI_API_KEY=
# TELEGRAM_BOT_TOKEN=
# SWITCHBOARD_API_KEY=
`;

export const STARTER_SOUL = `# Persona
You are a helpful, concise assistant. Answer clearly; say so when you are unsure.
`;

/** Write a starter config.yaml, .env and SOUL.md into `home`; refuses to overwrite any of them. */
export function initHome(home: string): string[] {
  const files: Array<[string, string, number]> = [
    ["config.yaml", STARTER_CONFIG, 0o644],
    [".env", STARTER_ENV, 0o600],
    ["SOUL.md", STARTER_SOUL, 0o644],
  ];
  const existing = files.filter(([f]) => existsSync(join(home, f))).map(([f]) => join(home, f));
  if (existing.length > 0) {
    throw new Error(`refusing to overwrite ${existing.join(", ")}: move them away or use another --home`);
  }
  // The home holds secrets and transcripts: its folders are the owner's alone.
  mkdirSync(join(home, "memories"), { recursive: true, mode: 0o700 });
  mkdirSync(join(home, "skills"), { recursive: true, mode: 0o700 });
  for (const [f, text, mode] of files) writeFileSync(join(home, f), text, { mode });
  return files.map(([f]) => join(home, f));
}
