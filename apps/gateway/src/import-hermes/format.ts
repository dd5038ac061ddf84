import { table } from "../output.ts";
import type { ImportPlan } from "./plan.ts";

function matchText(match: unknown): string {
  return Object.entries(match as Record<string, string>)
    .map(([k, v]) => `${k}=${v}`)
    .join(" ");
}

/** The plan as `--dry-run` prints it (and a real run before it writes). */
export function formatPlan(plan: ImportPlan): string {
  const model = (config: Record<string, unknown>) => {
    const m = config.model as { provider: string; name?: string } | undefined;
    return m ? `${m.provider}${m.name ? `/${m.name}` : ""}` : "(default)";
  };
  const agents = plan.config.agents as Record<string, Record<string, unknown>>;
  const routes = plan.config.routes as Array<{ name?: string; match: unknown; agent: string }>;
  const sum = (f: (a: ImportPlan["agents"][number]) => number) => plan.agents.reduce((n, a) => n + f(a), 0);
  const lines = [
    `Hermes home:      ${plan.hermesHome}`,
    `Switchboard home: ${plan.home}`,
    "",
    "agents (Hermes → Switchboard id):",
    table(
      ["FROM", "AGENT", "MODEL", "SKILLS", "JOBS", "SESSIONS", "CONTINUED", "MESSAGES"],
      plan.agents.map((a) => [
        a.from,
        a.id,
        model(agents[a.id] ?? {}),
        a.skills.length,
        a.jobs.length,
        a.sessions.length,
        a.continued,
        a.messages,
      ]),
    ),
    "",
    "platform accounts (one per distinct bot credential):",
    plan.accounts.length
      ? table(
          ["PLATFORM", "ACCOUNT", "AGENT", "SECRETS (root .env)"],
          plan.accounts.map((a) => [a.platform, a.account, a.agent, a.variables.join(", ")]),
        )
      : "  none",
    "",
    "routes (first match wins):",
    routes.length
      ? table(
          ["RULE", "MATCH", "AGENT"],
          routes.map((r, i) => [`routes[${i}]`, matchText(r.match), r.agent]),
        )
      : "  none",
    "",
    `totals: ${plan.agents.length} agents, ${plan.accounts.length} accounts, ${routes.length} routes, ` +
      `${sum((a) => a.sessions.length)} sessions (${sum((a) => a.continued)} continue), ` +
      `${sum((a) => a.messages)} messages, ${sum((a) => a.jobs.length)} cron jobs`,
  ];
  if (plan.notes.length) {
    lines.push("", "not carried over (and why):", ...plan.notes.map((n) => `  - ${n}`));
  }
  return `${lines.join("\n")}\n`;
}

/** The plan as `--json` prints it: the same facts as `formatPlan`, without secrets. */
export function planSummary(plan: ImportPlan): Record<string, unknown> {
  return {
    hermes_home: plan.hermesHome,
    home: plan.home,
    agents: plan.agents.map((a) => ({
      from: a.from,
      id: a.id,
      home: a.home,
      skills: a.skills,
      jobs: a.jobs.length,
      sessions: a.sessions.length,
      continued: a.continued,
      messages: a.messages,
    })),
    accounts: plan.accounts,
    routes: plan.config.routes,
    not_carried_over: plan.notes,
  };
}
