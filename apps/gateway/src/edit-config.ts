import { cpSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { AGENT_ID_PATTERN, type GatewayConfig, resolveAgentHome } from "@switchboard/core";
import { type Document, isMap, isSeq, parseDocument, YAMLMap } from "yaml";

/** Load config.yaml as a YAML Document, so edits keep the user's comments and formatting. */
export function readDocument(file: string): Document {
  const text = existsSync(file) ? readFileSync(file, "utf8") : "agents:\n  main: {}\n";
  const doc = parseDocument(text);
  if (doc.errors.length) throw new Error(`${file}: ${doc.errors[0]!.message}`);
  return doc;
}

/** Write atomically (temp file + rename). */
export function writeDocument(file: string, doc: Document): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, doc.toString());
  renameSync(tmp, file);
}

export interface AddAgentOptions {
  clone?: string;
  model?: string;
  withSecrets?: boolean;
}

/** Add `agents.<id>` to the document and create its home (optionally cloning another agent's SOUL, memory and skills). */
export function addAgent(
  file: string,
  config: GatewayConfig,
  id: string,
  options: AddAgentOptions = {},
): string {
  if (!AGENT_ID_PATTERN.test(id)) {
    throw new Error(
      `invalid agent id "${id}": use lowercase letters, digits, '_' or '-', starting with a letter or digit`,
    );
  }
  if (config.registry.has(id) && id !== "main") throw new Error(`agent "${id}" already exists`);
  const doc = readDocument(file);
  let agents = doc.get("agents");
  if (!isMap(agents)) {
    agents = new YAMLMap();
    doc.set("agents", agents);
  }
  const entry: Record<string, unknown> = {};
  if (options.model) {
    const [provider, ...rest] = options.model.split("/");
    entry.model = rest.length ? { provider, name: rest.join("/") } : { provider };
  }
  const node = doc.createNode(entry);
  node.flow = Object.keys(entry).length === 0;
  (agents as YAMLMap).set(id, node);
  writeDocument(file, doc);

  const home = resolveAgentHome(config.home, id);
  mkdirSync(join(home, "memories"), { recursive: true });
  mkdirSync(join(home, "skills"), { recursive: true });
  if (options.clone) {
    const from = config.registry.get(options.clone);
    if (!from) throw new Error(`cannot clone "${options.clone}": no such agent`);
    for (const part of ["SOUL.md", "memories", "skills"]) {
      const src = join(from.home, part);
      if (existsSync(src)) cpSync(src, join(home, part), { recursive: true });
    }
    if (options.withSecrets && existsSync(join(from.home, ".env"))) {
      cpSync(join(from.home, ".env"), join(home, ".env"));
    }
  }
  return home;
}

/** The indexes of routes pointing at an agent. */
export function routesTo(config: GatewayConfig, id: string): number[] {
  return config.routes.flatMap((r, i) => (r.agent === id ? [i] : []));
}

/** Remove `agents.<id>` (and, with `force`, the routes pointing at it). */
export function removeAgent(
  file: string,
  config: GatewayConfig,
  id: string,
  options: { force?: boolean; purge?: boolean } = {},
): number[] {
  if (id === "main") throw new Error("the main agent cannot be removed");
  if (!config.registry.has(id)) throw new Error(`no agent "${id}"`);
  const pointing = routesTo(config, id);
  if (pointing.length && !options.force) {
    throw new Error(
      `routes ${pointing.map((i) => `routes[${i}]`).join(", ")} still point at "${id}": remove them first, or pass --force to remove them too`,
    );
  }
  const doc = readDocument(file);
  const agents = doc.get("agents");
  if (isMap(agents)) agents.delete(id);
  const routes = doc.get("routes");
  if (isSeq(routes)) {
    for (const i of [...pointing].sort((a, b) => b - a)) routes.delete(i);
  }
  if (config.default_agent === id) doc.set("default_agent", "main");
  writeDocument(file, doc);
  if (options.purge) {
    const home = config.registry.get(id)!.home;
    if (home !== config.home) rmSync(home, { recursive: true, force: true });
  }
  return pointing;
}
