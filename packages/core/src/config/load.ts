import { existsSync, readFileSync } from "node:fs";
import { isIP } from "node:net";
import { join, resolve } from "node:path";
import { CORE_SCHEMA, load as loadYamlFast } from "js-yaml";
import { parseDocument } from "yaml";
import type { z } from "zod";
import { AgentRegistry, buildProfile, defaultRootHome, resolveProvider } from "../agents.ts";
import { readDotenv } from "../dotenv.ts";
import { ConfigError, type ConfigIssue } from "../errors.ts";
import type { PlatformDefinition } from "../platform.ts";
import { findShadowedRoutes } from "../routing/shadow.ts";
import { parseForgiving } from "./coerce.ts";
import { homeOverlapIssues } from "./homes.ts";
import { platformAccounts, validatePlatformSection } from "./platform-config.ts";
import { AGENT_ID_PATTERN, configSchema, MAIN_AGENT, MATCH_KEYS, type ParsedConfig } from "./schema.ts";
import { didYouMean, KNOWN_PLATFORMS, knownKeysAt } from "./suggest.ts";

/** A loaded, validated config: the parsed file plus what was resolved from it. */
export interface GatewayConfig extends ParsedConfig {
  /** The root home. */
  home: string;
  /** The file it came from; `undefined` for the embedded default. */
  configPath: string | undefined;
  /** The agents, `main` always among them. */
  registry: AgentRegistry;
  /** Per platform, per account: the config each adapter receives (validated when its definition was given). */
  platformAccounts: Map<string, Map<string, unknown>>;
  /** Non-fatal findings, such as routes that can never fire. */
  warnings: string[];
  /** Variables from the root `.env` overlaid with the environment. */
  env: Record<string, string | undefined>;
}

export interface LoadConfigOptions {
  /** The config file (relative to the working directory); default `<home>/config.yaml`, and the embedded default when that does not exist. */
  path?: string;
  /** The root home; default `$SWITCHBOARD_HOME`, else `~/.switchboard`. */
  home?: string;
  /** The environment for `${VAR}` interpolation and inherited secrets; default `process.env`. */
  env?: Record<string, string | undefined>;
  /** Adapter definitions whose schemas validate their platform sections. */
  platforms?: Record<string, PlatformDefinition>;
  /** YAML text to use instead of reading `path` (the live-reload path, `config check` on stdin). */
  text?: string;
}

/** Load and validate the config: every problem is collected into one `ConfigError`. */
export async function loadConfig(options: LoadConfigOptions = {}): Promise<GatewayConfig> {
  const env = options.env ?? process.env;
  const home = resolve(options.home ?? defaultRootHome(env));
  const explicit = options.path !== undefined;
  // An explicit path is what the user typed (`--config ./gw.yaml`): relative to the working directory, not the home.
  const configPath = explicit ? resolve(options.path!) : join(home, "config.yaml");
  const mergedEnv: Record<string, string | undefined> = { ...readDotenv(join(home, ".env")), ...env };

  let raw: unknown;
  let file: string | undefined;
  let variables = true;
  if (options.text !== undefined || existsSync(configPath)) {
    file = configPath;
    const text = options.text ?? readFileSync(configPath, "utf8");
    raw = parseYaml(text, file);
    variables = mayHoldVariables(text);
  } else if (explicit) {
    throw new ConfigError(
      [
        {
          path: "",
          message: `config file ${configPath} does not exist: create it with \`switchboard init\``,
        },
      ],
      configPath,
    );
  } else {
    raw = embeddedDefault(mergedEnv);
  }
  return buildConfig(raw, {
    file,
    home,
    env: mergedEnv,
    platforms: options.platforms ?? {},
    ...(variables ? {} : { noVariables: true }),
  });
}

/**
 * Whether the YAML text can hold a `${VAR}` once parsed: written as such, or with the `$` escaped in a
 * double-quoted string (`\x24`, `\u0024`, `\U00000024`). A text without either has nothing to interpolate.
 */
function mayHoldVariables(text: string): boolean {
  return text.includes("${") || /\\(?:x|u00|U000000)24/.test(text);
}

/** The config used when there is no file: `main` on echo (or openai with OPENAI_API_KEY), API on 127.0.0.1:8642. */
export function embeddedDefault(env: Record<string, string | undefined>): Record<string, unknown> {
  return {
    model: env.OPENAI_API_KEY ? { provider: "openai", name: "gpt-4.1-mini" } : { provider: "echo" },
    agents: { main: {} },
  };
}

/**
 * The config's YAML. js-yaml (YAML 1.2 core schema, like `yaml`'s default) reads it without building a
 * document tree: a 10,000-route file parses in a tenth of the time and without the ~100 MB tree that grew
 * the heap for good. Anything it refuses is parsed again by `yaml`, whose messages name line and column.
 */
function parseYaml(text: string, file: string): unknown {
  let fast: unknown;
  try {
    fast = loadYamlFast(text, { schema: CORE_SCHEMA, filename: file });
  } catch {
    fast = undefined;
  }
  if (fast !== undefined) {
    if (fast === null) return {};
    if (typeof fast === "object" && !Array.isArray(fast)) return fast;
  }
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      doc.errors.map((e) => ({ path: "", message: `YAML syntax: ${e.message.split("\n")[0]}` })),
      file,
    );
  }
  const value = doc.toJS() ?? {};
  if (typeof value !== "object" || Array.isArray(value)) {
    throw new ConfigError([{ path: "", message: "must be a YAML mapping of settings" }], file);
  }
  return value;
}

/** `routes[2].match.chat_idd` */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = "";
  for (const seg of path) {
    if (typeof seg === "number") out += `[${seg}]`;
    else out += out ? `.${String(seg)}` : String(seg);
  }
  return out;
}

const VAR_RE = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/**
 * `${VAR}` substitution over the parsed tree. `path` is one stack, pushed and popped as the walk goes, and a
 * subtree without variables is returned as it is: a 10,000-route config is walked without copying it.
 */
function interpolate(
  value: unknown,
  env: Record<string, string | undefined>,
  path: PropertyKey[],
  issues: ConfigIssue[],
): unknown {
  if (typeof value === "string") {
    if (!value.includes("${")) return value;
    return value.replace(VAR_RE, (_m, name: string, fallback: string | undefined) => {
      const v = env[name];
      if (v !== undefined && v !== "") return v;
      if (fallback !== undefined) return fallback;
      issues.push({
        path: formatPath(path),
        message: `variable ${name} is not set: set it in the root .env or the environment, or write \${${name}:-default}`,
      });
      return "";
    });
  }
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      path.push(i);
      const v = interpolate(value[i], env, path, issues);
      path.pop();
      if (v !== value[i]) {
        out ??= value.slice();
        out[i] = v;
      }
    }
    return out ?? value;
  }
  if (value && typeof value === "object") {
    let out: Record<string, unknown> | undefined;
    for (const k of Object.keys(value)) {
      const old = (value as Record<string, unknown>)[k];
      path.push(k);
      const v = interpolate(old, env, path, issues);
      path.pop();
      if (v !== old) {
        out ??= { ...(value as Record<string, unknown>) };
        out[k] = v;
      }
    }
    return out ?? value;
  }
  return value;
}

/**
 * YAML writes an empty section (`routes:` with every entry commented out, `agents: { main: }`) as null.
 * Treat a null top-level setting as unset and a null agent or platform entry as `{}`.
 */
function dropNulls(value: unknown): unknown {
  if (!value || typeof value !== "object" || Array.isArray(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (v === null) continue;
    if ((k === "agents" || k === "platforms") && typeof v === "object" && !Array.isArray(v)) {
      out[k] = Object.fromEntries(Object.entries(v).map(([id, entry]) => [id, entry ?? {}]));
    } else out[k] = v;
  }
  return out;
}

function zodIssues(error: z.ZodError): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  for (const issue of error.issues) {
    const keys = (issue as { keys?: string[] }).keys;
    if (issue.code === "unrecognized_keys" && keys) {
      const isMatch = issue.path.length >= 3 && issue.path[0] === "routes" && issue.path[2] === "match";
      const known = knownKeysAt(configSchema, issue.path);
      for (const k of keys) {
        out.push({
          path: formatPath([...issue.path, k]),
          message: unknownKeyMessage(k, issue.path, isMatch, known),
        });
      }
    } else {
      out.push({ path: formatPath(issue.path), message: issue.message });
    }
  }
  return out;
}

function unknownKeyMessage(
  key: string,
  at: readonly PropertyKey[],
  isMatch: boolean,
  known: string[],
): string {
  if (isMatch)
    return `unknown match key; expected one of ${MATCH_KEYS.join(", ")}${didYouMean(key, MATCH_KEYS)}`;
  if (at.length === 0 && (KNOWN_PLATFORMS as readonly string[]).includes(key))
    return `a platform section belongs under platforms: write "platforms:" and indent "${key}:" below it`;
  return `unknown key${didYouMean(key, known)}`;
}

interface BuildOptions {
  file: string | undefined;
  home: string;
  env: Record<string, string | undefined>;
  platforms: Record<string, PlatformDefinition>;
  /** The tree holds no `${VAR}` (its YAML text has none): skip the interpolation walk. */
  noVariables?: boolean;
}

/** Validate an already-parsed config tree (YAML or embedded) into a `GatewayConfig`. */
export function buildConfig(raw: unknown, opts: BuildOptions): GatewayConfig {
  const issues: ConfigIssue[] = [];
  const interpolated = dropNulls(opts.noVariables ? raw : interpolate(raw, opts.env, [], issues));
  const parsed = parseForgiving(configSchema, interpolated);
  if (!parsed.success) {
    // A missing variable already explains its path; the schema's complaint about the empty value there is noise.
    const missing = new Set(issues.map((i) => i.path));
    issues.push(...zodIssues(parsed.error).filter((i) => !missing.has(i.path)));
  }
  // Checked on the raw tree so they are reported alongside schema errors, not only once those are fixed.
  const references = referenceIssues(interpolated);
  if (!parsed.success || issues.length > 0)
    throw new ConfigError(dedupe([...issues, ...references]), opts.file);
  issues.push(...references);
  const cfg = parsed.data;

  if (!cfg.agents[MAIN_AGENT]) cfg.agents[MAIN_AGENT] = { expose: true };
  for (const id of Object.keys(cfg.agents)) {
    if (!AGENT_ID_PATTERN.test(id)) {
      issues.push({
        path: `agents.${id}`,
        message:
          "invalid agent id: use lowercase letters, digits, '_' or '-', starting with a letter or digit, at most 64 characters",
      });
    }
  }
  const defined = (id: string) => Object.hasOwn(cfg.agents, id);
  const checkModel = (path: string, model: ParsedConfig["model"]) => {
    const p = resolveProvider(cfg, model);
    if (!p) {
      issues.push({
        path: `${path}.provider`,
        message: `unknown provider "${model.provider}": use echo, openai, anthropic, or a name defined under providers:`,
      });
    } else if (p.kind === "openai-compatible" && !p.baseUrl) {
      issues.push({
        path: `${path}.provider`,
        message: `provider "${model.provider}" is openai-compatible and needs a base_url under providers.${model.provider}`,
      });
    } else if (p.kind !== "echo" && !model.name && p.kind !== "openai" && p.kind !== "anthropic") {
      issues.push({ path: `${path}.name`, message: `provider "${model.provider}" needs a model name` });
    }
  };
  checkModel("model", cfg.model);
  for (const [id, a] of Object.entries(cfg.agents)) {
    if (a.model) checkModel(`agents.${id}.model`, a.model);
    a.models?.forEach((m, i) => {
      checkModel(`agents.${id}.models[${i}]`, m);
    });
  }
  cfg.api_server.keys.forEach((k, i) => {
    if (Array.isArray(k.agents)) {
      k.agents.forEach((a, j) => {
        if (!defined(a))
          issues.push({
            path: `api_server.keys[${i}].agents[${j}]`,
            message: `agent "${a}" is not defined under agents:`,
          });
      });
    }
  });
  for (const [id, a] of Object.entries(cfg.agents)) {
    a.delegate_to?.forEach((target, j) => {
      const path = `agents.${id}.delegate_to[${j}]`;
      if (!defined(target)) issues.push({ path, message: `agent "${target}" is not defined under agents:` });
      else if (target === id) issues.push({ path, message: "an agent cannot delegate to itself" });
    });
  }
  issues.push(...duplicateKeyIssues(cfg.api_server.keys));
  if (cfg.api_server.enabled && !isLoopback(cfg.api_server.host) && cfg.api_server.keys.length === 0) {
    issues.push({
      path: "api_server.keys",
      message: `required when api_server.host (${cfg.api_server.host}) is not loopback: add - { key: "\${SWITCHBOARD_API_KEY}", agents: "*" }`,
    });
  }

  const accounts = new Map<string, Map<string, unknown>>();
  for (const [name, section] of Object.entries(cfg.platforms)) {
    const def = opts.platforms[name];
    if (def) {
      const r = validatePlatformSection(name, section, def);
      for (const i of r.issues) issues.push({ path: formatPath(i.path), message: i.message });
      accounts.set(name, r.accounts);
    } else {
      accounts.set(name, platformAccounts(section) as Map<string, unknown>);
    }
  }
  const inherited = () => opts.env;
  const profiles = Object.entries(cfg.agents).map(([id, a]) =>
    buildProfile(cfg, opts.home, id, a, inherited),
  );
  issues.push(...homeOverlapIssues(profiles, opts.home));
  if (issues.length > 0) throw new ConfigError(dedupe(issues), opts.file);
  const registry = new AgentRegistry(profiles);
  const warnings = findShadowedRoutes(cfg.routes).map(
    (s) => `routes[${s.route}] can never match: routes[${s.by}] matches everything it does`,
  );
  return {
    ...cfg,
    home: opts.home,
    configPath: opts.file,
    registry,
    platformAccounts: accounts,
    warnings,
    env: opts.env,
  };
}

/** Routes and `default_agent` naming agents not defined under `agents:` (`main` always is). */
function referenceIssues(raw: unknown): ConfigIssue[] {
  if (!raw || typeof raw !== "object") return [];
  const r = raw as { agents?: unknown; routes?: unknown; default_agent?: unknown };
  const agents = new Set([
    ...(r.agents && typeof r.agents === "object" ? Object.keys(r.agents) : []),
    MAIN_AGENT,
  ]);
  const out: ConfigIssue[] = [];
  if (Array.isArray(r.routes)) {
    r.routes.forEach((route: unknown, i) => {
      const agent = (route as { agent?: unknown })?.agent;
      if (typeof agent === "string" && !agents.has(agent)) {
        out.push({
          path: `routes[${i}].agent`,
          message: `agent "${agent}" is not defined under agents: (defined: ${[...agents].join(", ")})`,
        });
      }
    });
  }
  if (typeof r.default_agent === "string" && !agents.has(r.default_agent)) {
    out.push({ path: "default_agent", message: `agent "${r.default_agent}" is not defined under agents:` });
  }
  return out;
}

/**
 * Keys are told apart by their value (the owner of what they create) and shown by their name: two keys with
 * one name, or one value under two entries, would make both ambiguous.
 */
function duplicateKeyIssues(keys: ParsedConfig["api_server"]["keys"]): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  const byName = new Map<string, number>();
  const byValue = new Map<string, number>();
  keys.forEach((k, i) => {
    if (k.name !== undefined) {
      const first = byName.get(k.name);
      if (first === undefined) byName.set(k.name, i);
      else
        out.push({
          path: `api_server.keys[${i}].name`,
          message: `"${k.name}" is also the name of api_server.keys[${first}]: give each key its own name`,
        });
    }
    const same = byValue.get(k.key);
    if (same === undefined) byValue.set(k.key, i);
    else
      out.push({
        path: `api_server.keys[${i}].key`,
        message: `the same key value as api_server.keys[${same}]: give each entry its own key, or merge their agents`,
      });
  });
  return out;
}

function dedupe(issues: ConfigIssue[]): ConfigIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const k = `${i.path}\u0000${i.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

export function isLoopback(host: string): boolean {
  if (host === "localhost" || host === "::1" || host === "[::1]") return true;
  return isIP(host) === 4 && host.startsWith("127.");
}
