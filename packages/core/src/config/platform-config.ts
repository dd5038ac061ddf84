import type { z } from "zod";
import { DEFAULT_ACCOUNT, type PlatformDefinition } from "../platform.ts";

export type PlatformSection = Record<string, unknown> & {
  accounts?: Record<string, Record<string, unknown>>;
};

const IDENTITY_KEYS = new Set([
  "app_id",
  "app_secret",
  "corp_id",
  "corp_secret",
  "agent_id",
  "user_id",
  "bot_id",
  "bot_username",
  "device_id",
  "encoding_aes_key",
]);

/**
 * Keys that identify one bot account (its tokens, password, app/user ids); a named account never
 * inherits them. Shared settings such as `webhook_secret` or `mode` are inherited.
 */
export function isAccountCredential(key: string): boolean {
  return /(^|_)(token|password)$/.test(key) || IDENTITY_KEYS.has(key);
}

/**
 * The accounts of a platform section, each as the merged config its adapter receives. Section-level
 * settings (`mode`, `require_mention`, …) are shared by every account; section-level credentials
 * (`token:`) belong to the `default` account only, so a named account never silently reuses the
 * default bot's token. `accounts.<name>` overlays the rest.
 */
export function platformAccounts(section: PlatformSection): Map<string, Record<string, unknown>> {
  const { accounts, ...shared } = section;
  const settings = Object.fromEntries(Object.entries(shared).filter(([k]) => !isAccountCredential(k)));
  const hasCredentials = Object.keys(shared).some(isAccountCredential);
  const out = new Map<string, Record<string, unknown>>();
  if (!accounts || hasCredentials || accounts[DEFAULT_ACCOUNT]) {
    out.set(DEFAULT_ACCOUNT, { ...shared, ...(accounts?.[DEFAULT_ACCOUNT] ?? {}) });
  }
  for (const [name, acc] of Object.entries(accounts ?? {})) {
    if (name !== DEFAULT_ACCOUNT) out.set(name, { ...settings, ...acc });
  }
  return out;
}

export interface PlatformAccountIssue {
  path: (string | number)[];
  message: string;
}

/** Validate every account of a section with its adapter's schema; issue paths point at the key the user wrote. */
export function validatePlatformSection(
  name: string,
  section: PlatformSection,
  definition: PlatformDefinition,
): { accounts: Map<string, unknown>; issues: PlatformAccountIssue[] } {
  const issues: PlatformAccountIssue[] = [];
  const accounts = new Map<string, unknown>();
  for (const [account, merged] of platformAccounts(section)) {
    const r = (definition.configSchema as z.ZodType).safeParse(merged);
    if (r.success) {
      accounts.set(account, r.data);
      continue;
    }
    for (const issue of r.error.issues) {
      const head = issue.path[0];
      const fromAccount =
        section.accounts?.[account] && head !== undefined && head in section.accounts[account]!;
      const base: (string | number)[] =
        fromAccount || (section.accounts && account !== DEFAULT_ACCOUNT)
          ? ["platforms", name, "accounts", account]
          : ["platforms", name];
      const keys = (issue as { keys?: string[] }).keys;
      if (issue.code === "unrecognized_keys" && keys) {
        for (const k of keys)
          issues.push({ path: [...base, ...issue.path.map(pathKey), k], message: "unknown key" });
      } else {
        issues.push({ path: [...base, ...issue.path.map(pathKey)], message: issue.message });
      }
    }
  }
  return { accounts, issues };
}

function pathKey(k: PropertyKey): string | number {
  return typeof k === "number" ? k : String(k);
}
