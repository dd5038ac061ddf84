import type { z } from "zod";
import { DEFAULT_ACCOUNT, type PlatformDefinition } from "../platform.ts";
import { parseForgiving } from "./coerce.ts";
import { didYouMean, knownKeysAt } from "./suggest.ts";

export type PlatformSection = Record<string, unknown> & {
  accounts?: Record<string, Record<string, unknown>>;
};

/**
 * Whether a key identifies one bot account: any `*token` / `*password`, or one of the platform's declared
 * `credentialKeys`. A named account never inherits these; shared settings (`mode`, `webhook_secret`) it does.
 */
export function isAccountCredential(key: string, credentialKeys: readonly string[] = []): boolean {
  return /(^|_)(token|password)$/.test(key) || credentialKeys.includes(key);
}

/**
 * The accounts of a platform section, each as the merged config its adapter receives. Section-level
 * settings (`mode`, `require_mention`, …) are shared by every account; section-level credentials
 * (`token:`) belong to the `default` account only, so a named account never silently reuses the
 * default bot's token. `accounts.<name>` overlays the rest.
 */
export function platformAccounts(
  section: PlatformSection,
  credentialKeys: readonly string[] = [],
): Map<string, Record<string, unknown>> {
  const { accounts, ...shared } = section;
  const isCredential = (k: string) => isAccountCredential(k, credentialKeys);
  const settings = Object.fromEntries(Object.entries(shared).filter(([k]) => !isCredential(k)));
  const out = new Map<string, Record<string, unknown>>();
  if (!accounts || Object.keys(shared).some(isCredential) || accounts[DEFAULT_ACCOUNT]) {
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
  for (const [account, merged] of platformAccounts(section, definition.credentialKeys)) {
    const schema = definition.configSchema as z.ZodType;
    const r = parseForgiving(schema, merged);
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
        const known = [...knownKeysAt(schema, issue.path), ...(issue.path.length === 0 ? ["accounts"] : [])];
        for (const k of keys)
          issues.push({
            path: [...base, ...issue.path.map(pathKey), k],
            message: `unknown key${didYouMean(k, known)}`,
          });
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
