import { z } from "zod";

/** Agent ids double as directory names: this pattern is also the path-traversal guard. */
export const AGENT_ID_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/;
export const MAIN_AGENT = "main";

export const agentIdSchema = z
  .string()
  .regex(
    AGENT_ID_PATTERN,
    "must be an agent id: lowercase letters, digits, '_' or '-', starting with a letter or digit, at most 64 characters",
  );

export const PROVIDER_KINDS = ["echo", "openai", "openai-compatible", "anthropic"] as const;

export const providerSchema = z.strictObject({
  kind: z.enum(PROVIDER_KINDS),
  base_url: z.string().url().optional(),
  /** The variable (looked up with `secret()` in the agent's scope) that holds the API key. */
  api_key_env: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be an environment variable name")
    .optional(),
  headers: z.record(z.string(), z.string()).optional(),
});

export const modelSchema = z.strictObject({
  /** A provider kind (`echo`, `openai`, …) or the name of an entry in `providers`. */
  provider: z.string().min(1),
  name: z.string().min(1).optional(),
  temperature: z.number().min(0).max(2).optional(),
  max_tokens: z.number().int().positive().optional(),
  max_steps: z.number().int().min(1).max(100).optional(),
  /**
   * The model reads images: chat photos reach it as images (default: true for `openai` and `anthropic`,
   * false for `openai-compatible` and `echo`, whose models mostly do not).
   */
  vision: z.boolean().optional(),
});

export const TOOLSETS = ["memory", "skills", "cron", "sessions", "delegate", "media"] as const;

/** MCP server names prefix tool names on collision, so they keep to what model tool names allow. */
export const MCP_SERVER_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$/;

/** One MCP server of one agent: stdio (`command`) or Streamable HTTP (`url`). See docs/tools.md. */
export const mcpServerSchema = z
  .strictObject({
    command: z.string().min(1).optional(),
    args: z.array(z.string()).default([]),
    /** The child's whole environment besides PATH and HOME; values may use `${secret:NAME}`. */
    env: z
      .record(
        z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be an environment variable name"),
        z.string(),
      )
      .default({}),
    url: z.string().url().optional(),
    /** HTTP headers of every request; values may use `${secret:NAME}`. */
    headers: z.record(z.string(), z.string()).default({}),
    /** Only these of the server's tools are shown to the model (default all). */
    tools: z.array(z.string().min(1)).min(1).optional(),
    /** Tools (by the server's name for them) that wait for a human's approval before they run. */
    approval: z.array(z.string().min(1)).default([]),
    /** Stop the server after this long without a call; it starts again when next needed. */
    idle_timeout_s: z.number().positive().default(600),
    /** How long starting (spawn or connect, then initialize and list tools) may take. */
    startup_timeout_s: z.number().positive().default(30),
  })
  .refine((s) => (s.command === undefined) !== (s.url === undefined), {
    message: "set either command (a stdio server) or url (a Streamable HTTP server), not both or neither",
  });

/** A spend limit: tokens (a number), currency (`"$5"`), or both (`{ tokens, usd }`). */
export const spendLimitSchema = z
  .union(
    [
      z.number().int().positive(),
      z.string().regex(/^\$\d+(\.\d+)?$/, 'must be a token count or a dollar amount like "$5"'),
      z.strictObject({
        tokens: z.number().int().positive().optional(),
        usd: z.number().positive().optional(),
      }),
    ],
    { error: 'must be a token count (10000), a dollar amount ("$5") or { tokens, usd }' },
  )
  .transform((v): { tokens?: number; usd?: number } =>
    typeof v === "number" ? { tokens: v } : typeof v === "string" ? { usd: Number(v.slice(1)) } : v,
  );

/** `budget: { daily, monthly }` of an agent, an API key or (`budgets.per_user`) every user. */
export const budgetSchema = z.strictObject({
  daily: spendLimitSchema.optional(),
  monthly: spendLimitSchema.optional(),
});

/** How a chat reply reaches the chat: edited in place while the model writes (`edit`) or sent whole at the end (`off`). */
export const streamingSchema = z.enum(["off", "edit"]);

export const agentConfigSchema = z.strictObject({
  name: z.string().optional(),
  description: z.string().optional(),
  home: z.string().min(1).optional(),
  model: modelSchema.optional(),
  /** Other models an admin may switch a chat session to with `/model <name>` (the agent's `model` always is one). */
  models: z.array(modelSchema).optional(),
  toolsets: z.array(z.enum(TOOLSETS)).optional(),
  /** Listed in `/v1/models` when `api_server.models` is `exposed` (the default). */
  expose: z.boolean().default(true),
  /** `own`: only this agent's `.env` and `env:` map; `inherit`: also the root `.env` and the process environment. */
  secrets: z.enum(["own", "inherit"]).optional(),
  env: z.record(z.string(), z.string()).optional(),
  cron: z.strictObject({ allowed_targets: z.array(z.string()).default([]) }).optional(),
  /** This agent's own MCP servers, by name; never shared with another agent. */
  mcp: z
    .record(
      z
        .string()
        .regex(
          MCP_SERVER_NAME_PATTERN,
          "must be a server name: letters, digits, '_' or '-', at most 32 characters",
        ),
      mcpServerSchema,
    )
    .optional(),
  /** Built-in tools (e.g. `cron_create`) that wait for a human's approval before they run. */
  approval: z.array(z.string().min(1)).optional(),
  /** How long a call waits for approval before it is denied. */
  approval_timeout_s: z.number().positive().optional(),
  /** Agents this one may hand a task to with the `delegate` tool (default none). */
  delegate_to: z.array(agentIdSchema).optional(),
  /** The longest a whole turn (every model call and tool) may run before it is stopped; default 600 s. */
  turn_timeout_s: z.number().positive().optional(),
  budget: budgetSchema.optional(),
  /** `off` sends this agent's chat replies whole at the end, whatever the platform allows (default: the platform's `streaming`). */
  streaming: streamingSchema.optional(),
});

export const MATCH_KEYS = [
  "platform",
  "account",
  "chat_id",
  "chat_type",
  "thread_id",
  "topic_id",
  "parent_chat_id",
  "guild_id",
  "user_id",
  "user_id_alt",
] as const;
export type MatchKey = (typeof MATCH_KEYS)[number];

const matchValue = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)], {
  error: "must be a string or a non-empty list of strings",
});
const chatTypeValue = z.union(
  [
    z.enum(["dm", "group", "channel", "thread"]),
    z.array(z.enum(["dm", "group", "channel", "thread"])).min(1),
  ],
  {
    error: "must be one of dm, group, channel, thread (or a list of them)",
  },
);

export const matchSchema = z
  .strictObject({
    platform: matchValue.optional(),
    account: matchValue.optional(),
    chat_id: matchValue.optional(),
    chat_type: chatTypeValue.optional(),
    thread_id: matchValue.optional(),
    topic_id: matchValue.optional(),
    parent_chat_id: matchValue.optional(),
    guild_id: matchValue.optional(),
    user_id: matchValue.optional(),
    user_id_alt: matchValue.optional(),
  })
  .refine((m) => Object.keys(m).length > 0, {
    message: `must not be empty: name at least one of ${MATCH_KEYS.join(", ")}`,
  });

export const routeSchema = z.strictObject({
  match: matchSchema,
  agent: agentIdSchema,
  /** A label shown by `route list|test`. */
  name: z.string().optional(),
});

export const DM_POLICIES = ["deny", "pairing", "open"] as const;
export type DmPolicy = (typeof DM_POLICIES)[number];

/** `platforms.<name>.pairing`: how strangers' pairing codes are bounded. */
export const pairingSchema = z.strictObject({
  /** How long a code can be approved. */
  code_ttl_minutes: z.number().positive().default(60),
  /** Live codes one platform account holds at most; strangers past it get no code (a flood cannot grow it). */
  max_pending: z.number().int().positive().default(50),
  /** Pairing replies (a new code or a reminder of the live one) one user gets per hour; more are dropped. */
  per_user_per_hour: z.number().int().positive().default(3),
});
export type PairingConfig = z.output<typeof pairingSchema>;

/** Keys every platform section accepts; adapters `.extend()` this with their own account keys. */
export const platformCommonSchema = z.object({
  enabled: z.boolean().default(true),
  allowed_users: z.array(z.union([z.string(), z.number()]).transform(String)).optional(),
  allow_all_users: z.boolean().optional(),
  require_mention: z.boolean().optional(),
  api_url: z.string().url().optional(),
  /**
   * Users who may answer any approval prompt in this platform's chats (besides the user who asked) and run
   * admin commands (`/platform pause|resume`).
   */
  admins: z.array(z.union([z.string(), z.number()]).transform(String)).optional(),
  /**
   * What a DM from a user the account does not know gets: `deny` (dropped), `pairing` (a code the owner must
   * approve) or `open` (answered). Default: `open` with `allow_all_users`, `deny` with `allowed_users`,
   * otherwise `pairing`.
   */
  dm_policy: z.enum(DM_POLICIES).optional(),
  pairing: pairingSchema.optional(),
  /** `edit`: a reply appears while the model writes it and is edited in place (where the adapter can edit); `off`: one message at the end. */
  streaming: streamingSchema.optional(),
  /** While a streamed reply waits on a tool, show a status line ("using memory…"); default true. */
  streaming_tool_status: z.boolean().optional(),
});
export const PLATFORM_COMMON_KEYS = [
  "enabled",
  "allowed_users",
  "allow_all_users",
  "require_mention",
  "admins",
  "dm_policy",
  "pairing",
  "streaming",
  "streaming_tool_status",
  "accounts",
] as const;

/** A platform section before its adapter's schema sees it: common keys checked, the rest passed on. */
export const platformSectionSchema = z
  .object({
    enabled: z.boolean().optional(),
    allowed_users: z.array(z.union([z.string(), z.number()])).optional(),
    allow_all_users: z.boolean().optional(),
    require_mention: z.boolean().optional(),
    admins: z.array(z.union([z.string(), z.number()])).optional(),
    dm_policy: z.enum(DM_POLICIES).optional(),
    pairing: z.record(z.string(), z.unknown()).optional(),
    streaming: streamingSchema.optional(),
    streaming_tool_status: z.boolean().optional(),
    accounts: z.record(agentIdSchema, z.record(z.string(), z.unknown())).optional(),
  })
  .catchall(z.unknown());

export const apiKeySchema = z.strictObject({
  key: z.string().min(8, "must be at least 8 characters"),
  name: z.string().optional(),
  agents: z.union([z.literal("*"), z.array(agentIdSchema)]).default("*"),
  /** May read `/v1/usage`, `/metrics` and `/health/ready`. */
  admin: z.boolean().default(false),
  budget: budgetSchema.optional(),
});

export const apiServerSchema = z.strictObject({
  enabled: z.boolean().default(true),
  host: z.string().default("127.0.0.1"),
  port: z.number().int().min(0).max(65535).default(8642),
  keys: z.array(apiKeySchema).default([]),
  models: z.enum(["exposed", "all", "none"]).default("exposed"),
  strict_models: z.boolean().default(false),
  /** List `<agent>:plain` models: the agent's model without persona, tools or storage (clients' background tasks). */
  plain_models: z.boolean().default(false),
  max_body_bytes: z
    .number()
    .int()
    .positive()
    .default(10 * 1024 * 1024),
  cors_origins: z.array(z.string()).optional(),
  /** Host names (besides loopback names and the bound host) a request's `Host` header may carry; `*` allows any. */
  allowed_hosts: z.array(z.string().min(1)).default([]),
  /** Serve the console at `/console` (admin keys); `false` answers 404 there and never loads its code. */
  console: z.boolean().default(true),
  /** Runs (`POST /v1/runs`) one key may have executing at once; more answer 429. */
  max_active_runs_per_key: z.number().int().positive().default(32),
  /**
   * How often a run executing on another replica (or another process on the SQLite file) is polled: new events
   * for `GET /v1/runs/{id}/events`, and a `stop` asked elsewhere for a run executing here. PostgreSQL also
   * notifies, so followers there usually wake at once; this bounds the delay when a notification is missed.
   */
  run_poll_ms: z.number().int().min(10).max(10_000).default(250),
  /** A request whose headers and body have not fully arrived after this long is cut (408). */
  request_timeout_s: z.number().positive().default(60),
  /** Stored Responses API responses (in `state.db`): dropped after `retention_days`, oldest first past `max_bytes`. */
  responses: z
    .strictObject({
      retention_days: z.number().positive().default(30),
      max_bytes: z
        .number()
        .int()
        .positive()
        .default(256 * 1024 * 1024),
    })
    .default({ retention_days: 30, max_bytes: 256 * 1024 * 1024 }),
  /** Images sent by URL: the gateway downloads them itself (never from private addresses) and passes them on inline. */
  images: z
    .strictObject({
      max_bytes: z
        .number()
        .int()
        .positive()
        .default(20 * 1024 * 1024),
      timeout_s: z.number().positive().default(15),
      /** Host names whose images may be fetched although they resolve to a private or loopback address. */
      trusted_hosts: z.array(z.string().min(1)).default([]),
    })
    .default({ max_bytes: 20 * 1024 * 1024, timeout_s: 15, trusted_hosts: [] }),
  /** The largest body a platform webhook (Telegram, Slack HTTP, Feishu, WeCom) may send; larger ones get 413. */
  webhook_max_body_bytes: z
    .number()
    .int()
    .positive()
    .default(1024 * 1024),
});

export const resetPolicySchema = z.strictObject({
  mode: z.enum(["none", "idle", "daily", "both"]).default("none"),
  idle_minutes: z.number().int().positive().default(1440),
  at_hour: z.number().int().min(0).max(23).default(4),
});

export const sessionSchema = z.strictObject({
  reset: resetPolicySchema.default({ mode: "none", idle_minutes: 1440, at_hour: 4 }),
  group_per_user: z.boolean().default(true),
  thread_per_user: z.boolean().default(false),
  /**
   * A message arriving while the session's turn runs: `queue` it for the next turn, `interrupt` the turn and
   * answer both together, or `steer` it into the running turn at its next model step.
   */
  busy: z.enum(["queue", "interrupt", "steer"]).default("queue"),
  /** Messages sent within this many seconds of each other while the session is idle become one turn; 0 disables. */
  debounce_s: z.number().min(0).max(60).default(1.5),
});

export const cronSchema = z.strictObject({
  enabled: z.boolean().default(true),
  max_concurrency: z.number().int().min(1).max(64).default(4),
  /** How late a one-shot job may still run after downtime. */
  grace_minutes: z.number().int().min(0).default(120),
  /** Jobs one agent may have; creating more (API, cron tool, CLI) is refused. */
  max_jobs_per_agent: z.number().int().positive().default(50),
  /** The shortest time between two runs of a repeating job, seconds. */
  min_interval_s: z.number().positive().default(60),
});

export const STORE_KINDS = ["sqlite", "postgres"] as const;
export const DEFAULT_STORE_POOL = 10;

/**
 * Where sessions, messages and the operations tables live: `sqlite` (`<root>/state.db`, one process), or
 * `postgres` (`url`, shared by N replicas). `pool` bounds the connections of one process to PostgreSQL.
 */
export const storeSchema = z
  .strictObject({
    kind: z.enum(STORE_KINDS).default("sqlite"),
    url: z
      .string()
      .regex(
        /^postgres(ql)?:\/\/\S+$/,
        'must be a PostgreSQL URL: "postgres://user:pass@host:5432/switchboard"',
      )
      .optional(),
    pool: z.number().int().min(1).max(1000).default(DEFAULT_STORE_POOL),
    /**
     * Replicas on PostgreSQL: how long an account's or a session's lease lives without a heartbeat (renewed
     * every third of it). A replica that dies is taken over within this plus a 2 s standby poll.
     */
    lease_s: z.number().min(1).max(300).default(10),
  })
  .superRefine((store, ctx) => {
    if (store.kind === "postgres" && !store.url) {
      ctx.addIssue({
        code: "custom",
        path: ["url"],
        message:
          // biome-ignore lint/suspicious/noTemplateCurlyInString: the literal config placeholder
          'is required with kind: postgres: set it to the database URL, e.g. url: "${DATABASE_URL}" with DATABASE_URL=postgres://user:pass@host:5432/switchboard in .env',
      });
    }
    if (store.kind === "sqlite" && store.url) {
      ctx.addIssue({
        code: "custom",
        path: ["url"],
        message:
          "is only read with kind: postgres (the SQLite store is always <root>/state.db): remove it, or set kind: postgres",
      });
    }
  });

export const delegationSchema = z.strictObject({
  /** How many delegations deep a chain of agents may go (A → B → C is 2). */
  max_depth: z.number().int().min(1).max(8).default(2),
});

/** Requests per minute and concurrent turns of one user or one API key. */
export const rateLimitSchema = z.strictObject({
  requests_per_minute: z.number().int().positive().optional(),
  concurrent_turns: z.number().int().positive().optional(),
});

/** USD per million tokens of one model. */
export const modelPriceSchema = z.strictObject({
  input: z.number().min(0),
  output: z.number().min(0),
  cached_input: z.number().min(0).optional(),
});

/** Files in chat messages: what is downloaded and how much of a text document the model reads. */
export const mediaSchema = z.strictObject({
  /** The largest file downloaded from a platform (bigger ones reach the model as a note). */
  max_bytes: z
    .number()
    .int()
    .positive()
    .default(20 * 1024 * 1024),
  /** How many characters of a text document (text/*, JSON, Markdown, CSV…) the model reads. */
  max_text_chars: z.number().int().positive().default(50_000),
});

/** Voice notes and audio to text, through an OpenAI-compatible `/audio/transcriptions` endpoint. */
export const transcriptionSchema = z.strictObject({
  /** A provider kind (`openai`) or the name of an entry in `providers` (its base_url and api_key_env). */
  provider: z.string().min(1),
  model: z.string().min(1).default("whisper-1"),
  /** Spoken language hint (ISO-639-1, `en`), passed on when set. */
  language: z.string().min(2).max(8).optional(),
  timeout_s: z.number().positive().default(60),
});

export const operationsSchemas = {
  budgets: z.strictObject({
    per_user: budgetSchema.optional(),
    /** Warn (log, and `notify` when set) when a budget crosses this fraction. */
    warn_at: z.number().gt(0).max(1).default(0.8),
    /** An admin chat for budget warnings: `{ platform, account?, chat_id }`. */
    notify: z
      .strictObject({
        platform: z.string().min(1),
        account: z.string().default("default"),
        chat_id: z.string().min(1),
      })
      .optional(),
  }),
  rate_limits: z.strictObject({ per_user: rateLimitSchema.optional(), per_key: rateLimitSchema.optional() }),
  metrics: z.strictObject({
    enabled: z.boolean().default(true),
    /** A separate `host:port` for `/metrics` without a key (default: only on the API listener, admin keys). */
    listen: z
      .string()
      .regex(/^[^\s:]+:\d+$|^\[[0-9a-f:]+\]:\d+$/i, 'must be "host:port", e.g. "127.0.0.1:9464"')
      .optional(),
  }),
  circuit_breaker: z.strictObject({
    /** Consecutive failed sends (after retries) that open an account's breaker. */
    failures: z.number().int().min(1).default(5),
    cooldown_s: z.number().positive().default(30),
    max_cooldown_s: z.number().positive().default(600),
  }),
};

export const configSchema = z.strictObject({
  default_agent: agentIdSchema.default(MAIN_AGENT),
  model: modelSchema.default({ provider: "echo" }),
  providers: z
    .record(z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, "must be a lowercase provider name"), providerSchema)
    .default({}),
  agents: z.record(z.string(), agentConfigSchema).default({}),
  routes: z.array(routeSchema).default([]),
  platforms: z
    .record(
      z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, "must be a lowercase platform name"),
      platformSectionSchema,
    )
    .default({}),
  api_server: apiServerSchema.default(apiServerSchema.parse({})),
  session: sessionSchema.default(sessionSchema.parse({})),
  cron: cronSchema.default(cronSchema.parse({})),
  store: storeSchema.default(storeSchema.parse({})),
  delegation: delegationSchema.default(delegationSchema.parse({})),
  plugins: z.array(z.string().min(1)).default([]),
  budgets: operationsSchemas.budgets.default(operationsSchemas.budgets.parse({})),
  rate_limits: operationsSchemas.rate_limits.default({}),
  /** Prices per model (`<provider kind>/<model>` or `<model>`), over the built-in table. */
  pricing: z.record(z.string().min(1), modelPriceSchema).default({}),
  metrics: operationsSchemas.metrics.default(operationsSchemas.metrics.parse({})),
  circuit_breaker: operationsSchemas.circuit_breaker.default(operationsSchemas.circuit_breaker.parse({})),
  media: mediaSchema.default(mediaSchema.parse({})),
  /** Off unless set. */
  transcription: transcriptionSchema.optional(),
  shutdown_timeout_s: z.number().positive().default(30),
  log_level: z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"]).default("info"),
});

export type ConfigInput = z.input<typeof configSchema>;
export type ParsedConfig = z.output<typeof configSchema>;
export type ModelConfig = z.output<typeof modelSchema>;
export type ProviderConfig = z.output<typeof providerSchema>;
export type AgentConfig = z.output<typeof agentConfigSchema>;
export type RouteConfig = z.output<typeof routeSchema>;
export type RouteMatch = z.output<typeof matchSchema>;
export type ApiServerConfig = z.output<typeof apiServerSchema>;
export type ApiKeyConfig = z.output<typeof apiKeySchema>;
export type ResetPolicy = z.output<typeof resetPolicySchema>;
export type SessionConfig = z.output<typeof sessionSchema>;
export type CronConfig = z.output<typeof cronSchema>;
export type StoreConfig = z.output<typeof storeSchema>;
export type BudgetConfig = z.output<typeof budgetSchema>;
export type SpendLimit = z.output<typeof spendLimitSchema>;
export type RateLimitConfig = z.output<typeof rateLimitSchema>;
export type ModelPrice = z.output<typeof modelPriceSchema>;
export type Toolset = (typeof TOOLSETS)[number];
export type McpServerConfig = z.output<typeof mcpServerSchema>;
export type MediaConfig = z.output<typeof mediaSchema>;
export type TranscriptionConfig = z.output<typeof transcriptionSchema>;
