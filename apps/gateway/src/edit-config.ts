import {
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { dirname, join } from "node:path";
import { AGENT_ID_PATTERN, type GatewayConfig, resolveAgentHome } from "@switchboard/core";
import { type Document, isMap, isSeq, parseDocument, stringify, YAMLMap } from "yaml";
import { loadGatewayConfig } from "./config.ts";

/** Load config.yaml as a YAML Document, so edits keep the user's comments and formatting. */
export function readDocument(file: string): Document {
  const text = existsSync(file) ? readFileSync(file, "utf8") : "agents:\n  main: {}\n";
  const doc = parseDocument(text);
  if (doc.errors.length) throw new Error(`${file}: ${doc.errors[0]!.message}`);
  return doc;
}

/** Write atomically (temp file + rename), through a symlinked config.yaml to the file it points at. */
export function writeDocument(file: string, doc: Document): void {
  const target = existsSync(file) ? realpathSync(file) : file;
  mkdirSync(dirname(target), { recursive: true });
  const tmp = `${target}.${process.pid}.tmp`;
  writeFileSync(tmp, doc.toString());
  renameSync(tmp, target);
}

/**
 * Validate the whole config an edit would produce, exactly as the gateway will load it, and only then
 * write it (atomically). A refused edit changes nothing: the ConfigError names what is wrong.
 */
export async function commitDocument(
  file: string,
  config: GatewayConfig,
  doc: Document,
): Promise<GatewayConfig> {
  const next = await loadGatewayConfig({ home: config.home, path: file, text: doc.toString() });
  writeDocument(file, doc);
  return next;
}

export interface AddAgentOptions {
  clone?: string;
  model?: string;
  withSecrets?: boolean;
  /** Replace an existing agent's entry. */
  force?: boolean;
}

export interface AddAgentResult {
  home: string;
  /** The entry `--force` replaced, as YAML. */
  replaced?: string;
}

/** Add `agents.<id>` to the document and create its home (optionally cloning another agent's SOUL, memory and skills). */
export async function addAgent(
  file: string,
  config: GatewayConfig,
  id: string,
  options: AddAgentOptions = {},
): Promise<AddAgentResult> {
  if (!AGENT_ID_PATTERN.test(id)) {
    throw new Error(
      `invalid agent id "${id}": use lowercase letters, digits, '_' or '-', starting with a letter or digit`,
    );
  }
  const from = options.clone === undefined ? undefined : config.registry.get(options.clone);
  if (options.clone !== undefined && !from) {
    throw new Error(
      `cannot clone "${options.clone}": no such agent (agents: ${config.registry.ids().join(", ")}); nothing was changed`,
    );
  }
  const doc = readDocument(file);
  let agents = doc.get("agents");
  if (!isMap(agents)) {
    agents = new YAMLMap();
    doc.set("agents", agents);
  }
  const existing = (agents as YAMLMap).get(id, true);
  const exists = config.registry.has(id) || existing !== undefined;
  let replaced: string | undefined;
  if (exists) {
    const current = existing === undefined ? "{}" : stringify(existing).trim();
    if (!options.force) {
      throw new Error(
        `agent "${id}" already exists (agents.${id}: ${current}); nothing was changed. Pass --force to replace its entry`,
      );
    }
    replaced = current;
  }
  const entry: Record<string, unknown> = {};
  if (options.model) {
    const [provider, ...rest] = options.model.split("/");
    if (!provider)
      throw new Error(`--model "${options.model}": use <provider>/<name>, e.g. openai/gpt-4.1-mini`);
    entry.model = rest.length ? { provider, name: rest.join("/") } : { provider };
  }
  const node = doc.createNode(entry);
  node.flow = Object.keys(entry).length === 0;
  (agents as YAMLMap).set(id, node);
  const next = await commitDocument(file, config, doc);

  const home = next.registry.get(id)?.home ?? resolveAgentHome(config.home, id);
  mkdirSync(join(home, "memories"), { recursive: true });
  mkdirSync(join(home, "skills"), { recursive: true });
  if (from) {
    for (const part of ["SOUL.md", "memories", "skills"]) {
      const src = join(from.home, part);
      if (existsSync(src)) cpSync(src, join(home, part), { recursive: true });
    }
    if (options.withSecrets && existsSync(join(from.home, ".env"))) {
      cpSync(join(from.home, ".env"), join(home, ".env"));
    }
  }
  return { home, ...(replaced !== undefined ? { replaced } : {}) };
}

/** The indexes of routes pointing at an agent. */
export function routesTo(config: GatewayConfig, id: string): number[] {
  return config.routes.flatMap((r, i) => (r.agent === id ? [i] : []));
}

export interface RemoveAgentOptions {
  force?: boolean;
  purge?: boolean;
  /** The new `default_agent`, required when removing the current one. */
  newDefault?: string;
}

/** Remove `agents.<id>` (and, with `force`, the routes pointing at it). */
export async function removeAgent(
  file: string,
  config: GatewayConfig,
  id: string,
  options: RemoveAgentOptions = {},
): Promise<number[]> {
  if (id === "main") throw new Error("the main agent cannot be removed");
  if (!config.registry.has(id)) throw new Error(`no agent "${id}"`);
  const pointing = routesTo(config, id);
  if (pointing.length && !options.force) {
    throw new Error(
      `routes ${pointing.map((i) => `routes[${i}]`).join(", ")} still point at "${id}": remove them first, or pass --force to remove them too`,
    );
  }
  const others = config.registry.ids().filter((a) => a !== id);
  if (config.default_agent === id && !options.newDefault) {
    throw new Error(
      `"${id}" is the default_agent: choose the new default with --default <id> (one of ${others.join(", ")}); nothing was changed`,
    );
  }
  if (options.newDefault !== undefined && !others.includes(options.newDefault)) {
    throw new Error(
      `--default ${options.newDefault}: choose one of ${others.join(", ")}; nothing was changed`,
    );
  }
  const doc = readDocument(file);
  const agents = doc.get("agents");
  if (isMap(agents)) agents.delete(id);
  const routes = doc.get("routes");
  if (isSeq(routes)) {
    for (const i of [...pointing].sort((a, b) => b - a)) routes.delete(i);
  }
  if (options.newDefault) doc.set("default_agent", options.newDefault);
  await commitDocument(file, config, doc);
  if (options.purge) {
    const home = config.registry.get(id)!.home;
    if (home !== config.home) rmSync(home, { recursive: true, force: true });
  }
  return pointing;
}
