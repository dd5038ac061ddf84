/**
 * Redaction by value: every secret the gateway knows (config credentials, `.env` values, keys read
 * through `secret()`) is replaced in every log line, wherever it appears — a field, a message, an error's
 * text or stack, a URL such as Telegram's `/bot<token>/getMe`. Field-name redaction (`SECRET_PATHS`)
 * cannot see those.
 */

/** Shorter values are too likely to be ordinary words or numbers (`DEBUG=1`, `PORT=8642`). */
const MIN_SECRET_LENGTH = 8;
export const REDACTED = "[redacted]";

/** `.env` entries that configure the gateway rather than hold a secret. */
const NOT_SECRET_ENV = new Set([
  "SWITCHBOARD_HOME",
  "SWITCHBOARD_LOG_LEVEL",
  "NODE_ENV",
  "NODE_OPTIONS",
  "TZ",
  "PATH",
  "HOME",
  "LANG",
]);

/** A config key whose string value is a credential: `token`, `api_key`, `signing_secret`, `encoding_aes_key`, … */
const CREDENTIAL_KEY = /(token|secret|password|passwd|key|credential)s?$/i;

export class SecretValues {
  readonly #values = new Set<string>();
  #pattern: RegExp | undefined;

  /** Remember `value` (and its URL- and JSON-escaped spellings) as a secret. */
  add(value: unknown): void {
    if (typeof value !== "string") return;
    const v = value.trim();
    if (v.length < MIN_SECRET_LENGTH || this.#values.has(v)) return;
    // `Authorization: Bearer <token>`: the token alone is the secret, wherever it shows up.
    const scheme = /^(?:bearer|basic|token|bot)\s+(\S+)$/i.exec(v);
    if (scheme) this.add(scheme[1]);
    for (const form of [v, encodeURIComponent(v), JSON.stringify(v).slice(1, -1)]) this.#values.add(form);
    this.#pattern = undefined;
  }

  /** Every value of a parsed `.env` file, except the few entries that are plainly settings. */
  addDotenv(values: Record<string, string>): void {
    for (const [k, v] of Object.entries(values)) if (!NOT_SECRET_ENV.has(k)) this.add(v);
  }

  get size(): number {
    return this.#values.size;
  }

  redact(text: string): string {
    if (this.#values.size === 0) return text;
    this.#pattern ??= new RegExp(
      // Longest first, so a secret that contains another is replaced whole.
      [...this.#values]
        .sort((a, b) => b.length - a.length)
        .map((v) => v.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
        .join("|"),
      "g",
    );
    return text.replace(this.#pattern, REDACTED);
  }
}

/** The process's secrets: filled as config and `.env` files load, read by every log destination. */
export const secretValues = new SecretValues();

/** Register the credentials a config holds: platform tokens and secrets, API keys, provider headers, agents' `env:`. */
export function registerConfigSecrets(config: {
  platforms?: unknown;
  platformAccounts?: Map<string, Map<string, unknown>>;
  api_server?: { keys?: Array<{ key: string }> };
  providers?: Record<string, { headers?: Record<string, string> | undefined }>;
  agents?: Record<string, { env?: Record<string, string> | undefined }>;
  store?: { url?: string | undefined };
}): void {
  const walk = (node: unknown, depth: number): void => {
    if (depth > 8 || node === null || typeof node !== "object") return;
    for (const [k, v] of Object.entries(node)) {
      if (typeof v === "string") {
        if (CREDENTIAL_KEY.test(k)) secretValues.add(v);
      } else walk(v, depth + 1);
    }
  };
  walk(config.platforms, 0);
  for (const accounts of config.platformAccounts?.values() ?? [])
    for (const a of accounts.values()) walk(a, 0);
  for (const k of config.api_server?.keys ?? []) secretValues.add(k.key);
  for (const p of Object.values(config.providers ?? {}))
    for (const v of Object.values(p.headers ?? {})) secretValues.add(v);
  for (const a of Object.values(config.agents ?? {}))
    for (const v of Object.values(a.env ?? {})) secretValues.add(v);
  if (config.store?.url) {
    // The whole URL and its password alone: a driver error may quote either.
    secretValues.add(config.store.url);
    try {
      const password = new URL(config.store.url).password;
      if (password) {
        secretValues.add(password);
        secretValues.add(decodeURIComponent(password));
      }
    } catch {}
  }
}

/** A log destination that writes every line with the known secret values replaced. */
export function redactingDestination<T extends { write(chunk: string): unknown }>(
  destination: T,
  secrets: SecretValues = secretValues,
): { write(chunk: string): boolean } {
  return {
    write(chunk: string): boolean {
      destination.write(secrets.redact(chunk));
      return true;
    },
  };
}
