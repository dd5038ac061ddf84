import type { z } from "zod";
import { DEFAULT_ACCOUNT, type PlatformDefinition } from "../platform.ts";
import { PLATFORM_COMMON_KEYS } from "./schema.ts";

export type PlatformSection = Record<string, unknown> & {
  accounts?: Record<string, Record<string, unknown>>;
};

/**
 * The accounts of a platform section, each as the merged config its adapter receives: section-level keys
 * overlaid with `accounts.<name>`. Section-level account keys (`token:`) make the `default` account.
 */
export function platformAccounts(section: PlatformSection): Map<string, Record<string, unknown>> {
  const { accounts, ...shared } = section;
  const common = new Set<string>(PLATFORM_COMMON_KEYS);
  const hasOwnKeys = Object.keys(shared).some((k) => !common.has(k) && k !== "api_url");
  const out = new Map<string, Record<string, unknown>>();
  if (!accounts || hasOwnKeys)
    out.set(DEFAULT_ACCOUNT, { ...shared, ...(accounts?.[DEFAULT_ACCOUNT] ?? {}) });
  for (const [name, acc] of Object.entries(accounts ?? {})) out.set(name, { ...shared, ...acc });
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
