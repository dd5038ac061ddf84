import { DEFAULT_ACCOUNT, MAIN_AGENT } from "@switchboard/core";
import { profilePlatforms } from "./platforms.ts";
import type { HermesProfile } from "./read-home.ts";

/** One agent of the import: a Hermes profile, or a multi-agent `agents.<id>` entry without a home of its own. */
export interface Member {
  id: string;
  profile: HermesProfile | undefined;
  /** How the plan names its origin: `default profile`, `profile support`, `agents.ops`. */
  from: string;
  /** The multi-agent `agents.<id>` entry that declares it, `{}` when none does. */
  entry: Record<string, unknown>;
}

export interface PlannedAccount {
  platform: string;
  account: string;
  agent: string;
  /** The root `.env` variables holding its credentials. */
  variables: string[];
}

export interface AccountPlan {
  accounts: PlannedAccount[];
  /** The `platforms:` section: every setting per account, none shared, so no account inherits another's allowlist. */
  platforms: Record<string, { accounts: Record<string, Record<string, unknown>> }>;
  /** Credential variables for the root `.env` (the only file `${VAR}` in config.yaml reads). */
  env: Record<string, string>;
  /** `{ platform, account } → agent` for each account of a profile other than the default one. */
  routes: Array<Record<string, unknown>>;
  /** The account that serves `platform` for `agent`: its own bot, else the default profile's, else any. */
  accountOf(agent: string): (platform: string) => string | undefined;
  /** The default profile's account on `platform`, whose traffic `profile_routes` and `routes:` split. */
  mainAccount(platform: string): string | undefined;
}

const envSuffix = (id: string) => id.toUpperCase().replace(/[^A-Z0-9]/g, "_");

/**
 * One Switchboard account per distinct bot credential, in profile order (the default profile first, as
 * Hermes' duplicate-credential rule has it): `default` for the default profile's bot, the agent id for others.
 */
export function planAccounts(members: readonly Member[], notes: string[]): AccountPlan {
  const accounts: PlannedAccount[] = [];
  const platforms: Record<string, { accounts: Record<string, Record<string, unknown>> }> = {};
  const env: Record<string, string> = {};
  const ownAccount = new Map<string, string>(); // `${agent}\0${platform}` → account
  const byIdentity = new Map<string, PlannedAccount>();
  const accountRoutes: Array<Record<string, unknown>> = [];
  for (const m of members) {
    if (!m.profile) continue;
    for (const pp of profilePlatforms(m.profile, m.from, notes)) {
      const idKey = `${pp.platform}\0${pp.identity}`;
      const shared = byIdentity.get(idKey);
      if (shared) {
        if (shared.agent !== m.id)
          notes.push(
            `${m.from}: uses the same ${pp.platform} bot as agent ${shared.agent}: one account (${shared.account}); its chats reach ${m.id} only through routes`,
          );
        continue;
      }
      const account = m.id === MAIN_AGENT ? DEFAULT_ACCOUNT : m.id;
      const suffix = account === DEFAULT_ACCOUNT ? "" : `_${envSuffix(account)}`;
      const acc: Record<string, unknown> = { ...pp.values };
      const variables: string[] = [];
      for (const [key, { value, env: name }] of Object.entries(pp.secrets)) {
        const variable = `${name}${suffix}`;
        env[variable] = value;
        acc[key] = `\${${variable}}`;
        variables.push(variable);
      }
      if (pp.allowAll) acc.allow_all_users = true;
      else if (pp.allowedUsers.length) acc.allowed_users = pp.allowedUsers;
      else
        notes.push(
          `${m.from}: ${pp.platform} has no allowlist: as in Hermes nobody is answered until platforms.${pp.platform}.accounts.${account}.allowed_users (or allow_all_users) is set`,
        );
      (platforms[pp.platform] ??= { accounts: {} }).accounts[account] = acc;
      const planned = { platform: pp.platform, account, agent: m.id, variables };
      accounts.push(planned);
      byIdentity.set(idKey, planned);
      ownAccount.set(`${m.id}\0${pp.platform}`, account);
      if (m.id !== MAIN_AGENT)
        accountRoutes.push({
          name: `hermes ${m.from}`,
          match: { platform: pp.platform, account },
          agent: m.id,
        });
    }
  }
  const mainAccount = (platform: string): string | undefined => ownAccount.get(`${MAIN_AGENT}\0${platform}`);
  const accountOf = (agent: string) => (platform: string) =>
    ownAccount.get(`${agent}\0${platform}`) ??
    mainAccount(platform) ??
    accounts.find((a) => a.platform === platform)?.account;
  return { accounts, platforms, env, routes: accountRoutes, accountOf, mainAccount };
}
