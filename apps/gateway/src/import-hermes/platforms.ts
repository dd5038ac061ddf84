import type { HermesProfile } from "./read-home.ts";
import { isRecord } from "./read-home.ts";

/** How one Hermes setting becomes one key of a Switchboard platform account. */
interface Field {
  /** The Switchboard key. */
  key: string;
  /** The Hermes variable (`.env`, bridged from `config.yaml`). */
  env: string;
  /** Secrets go to the root `.env` and are referenced as `${VAR}`; the rest are written as values. */
  secret?: boolean;
  kind?: "bool" | "string";
}

interface PlatformMap {
  /** The Hermes platform name. */
  hermes: string;
  /** The fields that identify the bot account, the first one decisive: one Switchboard account per distinct value. */
  identity: string;
  fields: Field[];
  /** The Hermes `<P>_ALLOWED_USERS` / `<P>_ALLOW_ALL_USERS` prefix. */
  prefix: string;
  /** Settings whose Hermes default differs from Switchboard's, written explicitly. */
  hermesDefaults?: Record<string, unknown>;
}

/** The Hermes platforms Switchboard has an adapter for, keyed by the Switchboard platform name. */
export const PLATFORM_MAP: Record<string, PlatformMap> = {
  telegram: {
    hermes: "telegram",
    identity: "token",
    prefix: "TELEGRAM",
    fields: [
      { key: "token", env: "TELEGRAM_BOT_TOKEN", secret: true },
      { key: "webhook_url", env: "TELEGRAM_WEBHOOK_URL" },
      { key: "webhook_secret", env: "TELEGRAM_WEBHOOK_SECRET", secret: true },
      { key: "reply_to_mode", env: "TELEGRAM_REPLY_TO_MODE" },
      { key: "require_mention", env: "TELEGRAM_REQUIRE_MENTION", kind: "bool" },
    ],
  },
  discord: {
    hermes: "discord",
    identity: "token",
    prefix: "DISCORD",
    fields: [
      { key: "token", env: "DISCORD_BOT_TOKEN", secret: true },
      { key: "require_mention", env: "DISCORD_REQUIRE_MENTION", kind: "bool" },
      { key: "auto_thread", env: "DISCORD_AUTO_THREAD", kind: "bool" },
    ],
    hermesDefaults: { auto_thread: true },
  },
  slack: {
    hermes: "slack",
    identity: "bot_token",
    prefix: "SLACK",
    fields: [
      { key: "bot_token", env: "SLACK_BOT_TOKEN", secret: true },
      { key: "app_token", env: "SLACK_APP_TOKEN", secret: true },
      { key: "require_mention", env: "SLACK_REQUIRE_MENTION", kind: "bool" },
    ],
  },
  matrix: {
    hermes: "matrix",
    identity: "user_id",
    prefix: "MATRIX",
    fields: [
      { key: "user_id", env: "MATRIX_USER_ID" },
      { key: "homeserver", env: "MATRIX_HOMESERVER" },
      { key: "access_token", env: "MATRIX_ACCESS_TOKEN", secret: true },
      { key: "password", env: "MATRIX_PASSWORD", secret: true },
      { key: "device_id", env: "MATRIX_DEVICE_ID" },
      { key: "require_mention", env: "MATRIX_REQUIRE_MENTION", kind: "bool" },
    ],
  },
  feishu: {
    hermes: "feishu",
    identity: "app_id",
    prefix: "FEISHU",
    fields: [
      { key: "app_id", env: "FEISHU_APP_ID" },
      { key: "app_secret", env: "FEISHU_APP_SECRET", secret: true },
      { key: "domain", env: "FEISHU_DOMAIN" },
      { key: "mode", env: "FEISHU_CONNECTION_MODE" },
      { key: "encrypt_key", env: "FEISHU_ENCRYPT_KEY", secret: true },
      { key: "verification_token", env: "FEISHU_VERIFICATION_TOKEN", secret: true },
    ],
  },
  // Switchboard's WeCom adapter is the callback app (Hermes `wecom_callback`), not the AI Bot WebSocket.
  wecom: {
    hermes: "wecom_callback",
    identity: "corp_id",
    prefix: "WECOM_CALLBACK",
    fields: [
      { key: "corp_id", env: "WECOM_CALLBACK_CORP_ID" },
      { key: "corp_secret", env: "WECOM_CALLBACK_CORP_SECRET", secret: true },
      { key: "agent_id", env: "WECOM_CALLBACK_AGENT_ID" },
      { key: "token", env: "WECOM_CALLBACK_TOKEN", secret: true },
      { key: "encoding_aes_key", env: "WECOM_CALLBACK_ENCODING_AES_KEY", secret: true },
    ],
  },
  // Hermes names Yuanbao chats `group:<code>` / `direct:<account>`; chat-ids.ts maps them to the adapter's ids.
  yuanbao: {
    hermes: "yuanbao",
    identity: "app_id",
    prefix: "YUANBAO",
    fields: [
      { key: "app_id", env: "YUANBAO_APP_ID" },
      { key: "app_secret", env: "YUANBAO_APP_SECRET", secret: true },
      { key: "bot_id", env: "YUANBAO_BOT_ID" },
      { key: "ws_url", env: "YUANBAO_WS_URL" },
      { key: "api_domain", env: "YUANBAO_API_DOMAIN" },
      { key: "require_mention", env: "YUANBAO_REQUIRE_MENTION", kind: "bool" },
    ],
  },
};

/** Hermes platforms with no Switchboard adapter, and why each stays behind. */
export const UNSUPPORTED_PLATFORMS: Record<string, string[]> = {
  whatsapp: ["WHATSAPP_ENABLED"],
  signal: ["SIGNAL_HTTP_URL"],
  mattermost: ["MATTERMOST_TOKEN"],
  homeassistant: ["HASS_TOKEN"],
  email: ["EMAIL_ADDRESS"],
  sms: ["TWILIO_ACCOUNT_SID"],
  dingtalk: ["DINGTALK_CLIENT_ID"],
  wecom: ["WECOM_BOT_ID"],
  weixin: ["WEIXIN_TOKEN"],
  bluebubbles: ["BLUEBUBBLES_SERVER_URL"],
  qqbot: ["QQ_APP_ID"],
};

/** One profile's settings for one platform, before accounts are assigned. */
export interface ProfilePlatform {
  platform: string;
  identity: string;
  /** Key → literal value (settings) or the secret's value (to be moved to the root `.env`). */
  values: Record<string, unknown>;
  secrets: Record<string, { value: string; env: string }>;
  allowedUsers: string[];
  allowAll: boolean;
}

function truthy(v: string): boolean {
  return /^(1|true|yes|on)$/i.test(v.trim());
}

function csv(v: string | undefined): string[] {
  return (v ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}

/**
 * A profile's effective setting for one platform variable. As in Hermes, the environment (`.env`) wins over
 * `config.yaml`, which can hold `platforms.<p>.token`/`api_key`, `platforms.<p>.extra.<key>` or `<p>.<key>`.
 */
function setting(profile: HermesProfile, hermes: string, field: Field): string | undefined {
  const fromEnv = profile.env[field.env];
  if (fromEnv !== undefined && fromEnv !== "") return fromEnv;
  const platforms = isRecord(profile.config.platforms) ? profile.config.platforms : {};
  const section = isRecord(platforms[hermes]) ? platforms[hermes] : {};
  const extra = isRecord(section.extra) ? section.extra : {};
  const top = isRecord(profile.config[hermes]) ? profile.config[hermes] : {};
  const names = [field.key, field.env.slice(field.env.indexOf("_") + 1).toLowerCase()];
  if (field.key === "token" || field.key === "bot_token") names.push("token", "api_key");
  for (const src of [section, extra, top]) {
    for (const n of names) {
      const v = src[n];
      if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") return String(v);
    }
  }
  return undefined;
}

/** The platforms a profile serves, with its credentials and authorization settings. */
export function profilePlatforms(profile: HermesProfile, who: string, notes: string[]): ProfilePlatform[] {
  const out: ProfilePlatform[] = [];
  const globalAllowed = csv(profile.env.GATEWAY_ALLOWED_USERS);
  const globalAll = truthy(profile.env.GATEWAY_ALLOW_ALL_USERS ?? "");
  const platforms = isRecord(profile.config.platforms) ? profile.config.platforms : {};
  for (const [platform, map] of Object.entries(PLATFORM_MAP)) {
    const identityField = map.fields.find((f) => f.key === map.identity)!;
    const identity = setting(profile, map.hermes, identityField);
    if (!identity) continue;
    const raw = platforms[map.hermes];
    const section = isRecord(raw) ? raw : {};
    if (section.enabled === false && !profile.env[identityField.env]) {
      notes.push(`${who}: platforms.${map.hermes} is disabled (enabled: false): not imported`);
      continue;
    }
    const values: Record<string, unknown> = { ...(map.hermesDefaults ?? {}) };
    const secrets: ProfilePlatform["secrets"] = {};
    for (const field of map.fields) {
      const v = setting(profile, map.hermes, field);
      if (v === undefined) continue;
      if (field.secret) secrets[field.key] = { value: v, env: field.env };
      else values[field.key] = field.kind === "bool" ? truthy(v) : v;
    }
    if (platform === "telegram" && values.webhook_url) values.mode = "webhook";
    if (platform === "feishu" && typeof values.mode === "string" && values.mode !== "webhook")
      values.mode = "websocket";
    const allowed = [
      ...csv(profile.env[`${map.prefix}_ALLOWED_USERS`]),
      ...globalAllowed,
      ...(profile.approved.get(map.hermes) ?? []),
    ];
    const allowAll =
      allowed.includes("*") || globalAll || truthy(profile.env[`${map.prefix}_ALLOW_ALL_USERS`] ?? "");
    out.push({
      platform,
      identity,
      values,
      secrets,
      allowedUsers: [...new Set(allowed.filter((u) => u !== "*"))],
      allowAll,
    });
  }
  for (const [name, vars] of Object.entries(UNSUPPORTED_PLATFORMS)) {
    const section = platforms[name];
    const configured = vars.some((v) => profile.env[v]) || (isRecord(section) && section.enabled === true);
    if (configured)
      notes.push(
        `${who}: platform ${name} is not carried over: Switchboard has no ${name === "wecom" ? "WeCom AI Bot (WebSocket) adapter; its WeCom adapter is the callback app (Hermes wecom_callback)" : `${name} adapter`}`,
      );
  }
  return out;
}

/**
 * Whether a variable is a setting of a platform the import maps (`TELEGRAM_BOT_TOKEN`, `TELEGRAM_ALLOWED_USERS`,
 * `GATEWAY_ALLOWED_USERS`, …): it is carried into `platforms:` (credentials by `${VAR}` from the root `.env`),
 * so it is not copied into an agent's `.env` as well.
 */
export function isPlatformVariable(name: string): boolean {
  if (name.startsWith("GATEWAY_ALLOW")) return true;
  return Object.values(PLATFORM_MAP).some((m) => name.startsWith(`${m.prefix}_`));
}
