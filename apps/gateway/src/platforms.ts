import { sep } from "node:path";
import { fileURLToPath } from "node:url";
import { closest, type GatewayConfig, KNOWN_PLATFORMS, type PlatformDefinition } from "@switchboard/core";

/** The package that provides a platform. */
export function adapterPackage(platform: string): string {
  return `@switchboard/adapter-${platform}`;
}

/**
 * The command that installs an adapter beside this gateway: `npm install -g` / `pnpm add -g` when the
 * gateway is a global install, `npm install` / `pnpm add` in a project. Read from where this file lives.
 */
export function installCommand(pkg: string, here: string = fileURLToPath(import.meta.url)): string {
  const p = here.split(sep).join("/");
  const pnpm = p.includes("/.pnpm/") || p.includes("/pnpm/global/") || !p.includes("/node_modules/");
  const global =
    p.includes("/pnpm/global/") ||
    /\/global\/\d+\/(node_modules\/)?\.pnpm\//.test(p) ||
    /\/lib\/node_modules\/@switchboard\/gateway\//.test(p);
  if (pnpm) return global ? `pnpm add -g ${pkg}` : `pnpm add ${pkg}`;
  return global ? `npm install -g ${pkg}` : `npm install ${pkg}`;
}

/** Thrown when a configured platform's adapter package is not installed. */
export class MissingAdapterError extends Error {
  override name = "MissingAdapterError";
  readonly platform: string;
  constructor(platform: string, cause?: unknown) {
    const pkg = adapterPackage(platform);
    const known = (KNOWN_PLATFORMS as readonly string[]).includes(platform);
    const near = known ? undefined : closest(platform, KNOWN_PLATFORMS);
    super(
      near
        ? `platforms.${platform}: there is no adapter named "${platform}"; did you mean "${near}"? (rename the section to platforms.${near})`
        : `platforms.${platform} is configured but ${pkg} is not installed: run \`${installCommand(pkg)}\`, or remove platforms.${platform} from config.yaml`,
      { cause },
    );
    this.platform = platform;
  }
}

/** The platforms a config turns on (`enabled: false` sections are skipped). */
export function configuredPlatforms(platforms: GatewayConfig["platforms"]): string[] {
  return Object.entries(platforms)
    .filter(([, section]) => section.enabled !== false)
    .map(([name]) => name);
}

const cache = new Map<string, PlatformDefinition>();

/** Import the adapter package of each platform, and nothing else. */
export async function loadPlatformDefinitions(names: string[]): Promise<Record<string, PlatformDefinition>> {
  const out: Record<string, PlatformDefinition> = {};
  for (const name of names) {
    const hit = cache.get(name);
    if (hit) {
      out[name] = hit;
      continue;
    }
    let mod: { platform?: PlatformDefinition };
    try {
      mod = (await import(adapterPackage(name))) as { platform?: PlatformDefinition };
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === "ERR_MODULE_NOT_FOUND" && String((err as Error).message).includes(adapterPackage(name))) {
        throw new MissingAdapterError(name, err);
      }
      throw err;
    }
    if (!mod.platform || mod.platform.name !== name) {
      throw new Error(`${adapterPackage(name)} does not export a \`platform\` definition named "${name}"`);
    }
    cache.set(name, mod.platform);
    out[name] = mod.platform;
  }
  return out;
}
