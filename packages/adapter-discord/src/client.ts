import {
  Client,
  DefaultRestOptions,
  RateLimitError as DiscordRateLimitError,
  GatewayIntentBits,
  Partials,
  type ResponseLike,
} from "discord.js";
import { Agent } from "undici";
import type { DiscordAdapterConfig } from "./types.ts";

/** discord.js's default; `api_url` replaces it (e.g. `http://127.0.0.1:PORT/api` for a fake). */
export const DEFAULT_API_URL = "https://discord.com/api";

/** Guild and DM messages with their text. MessageContent is privileged: enable it in the developer portal. */
const INTENTS = [
  GatewayIntentBits.Guilds,
  GatewayIntentBits.GuildMessages,
  GatewayIntentBits.MessageContent,
  GatewayIntentBits.DirectMessages,
];

const REST_TIMEOUT_MS = 15_000;
/** How long `closeClient` lets in-flight requests finish before cutting them off. */
const CLOSE_GRACE_MS = 1000;

type MakeRequest = typeof DefaultRestOptions.makeRequest;

/**
 * discord.js retries a 429 after sleeping for as long as Discord asks, however long that is, and never
 * tells the caller. Core owns retries, so a 429 response is turned into a `RateLimitError` right here,
 * with the precise `retry_after` from the body (the header is rounded to whole seconds).
 */
export const surfaceRateLimits: MakeRequest = async (url, init) => {
  const res = await DefaultRestOptions.makeRequest(url, init);
  if (res.status !== 429) return res;
  const retryAfterMs = await retryAfterOf(res);
  const method = (init.method ?? "GET").toUpperCase();
  throw new DiscordRateLimitError({
    timeToReset: retryAfterMs,
    limit: Number(res.headers.get("x-ratelimit-limit") ?? Number.POSITIVE_INFINITY),
    method,
    hash: res.headers.get("x-ratelimit-bucket") ?? "",
    url,
    route: new URL(url).pathname.replace(/^\/api\/v\d+/, ""),
    majorParameter: "",
    global: res.headers.has("x-ratelimit-global"),
    retryAfter: retryAfterMs,
    sublimitTimeout: 0,
    scope: (res.headers.get("x-ratelimit-scope") ?? "user") as "user" | "global" | "shared",
  });
};

async function retryAfterOf(res: ResponseLike): Promise<number> {
  try {
    const body = (await res.json()) as { retry_after?: unknown };
    if (typeof body.retry_after === "number" && body.retry_after >= 0)
      return Math.ceil(body.retry_after * 1000);
  } catch {
    // Not JSON: fall back to the header.
  }
  const header = Number(res.headers.get("retry-after"));
  return Number.isFinite(header) && header >= 0 ? Math.ceil(header * 1000) : 0;
}

/** A discord.js client for one bot account; it does no I/O until `login`. */
export function createClient(config: DiscordAdapterConfig): Client {
  const client = new Client({
    intents: INTENTS,
    // DM channels are not in the cache until a DM arrives; without this discord.js drops the message.
    partials: [Partials.Channel],
    rest: {
      api: config.api_url ?? DEFAULT_API_URL,
      // Core retries 5xx and network errors with backoff; retrying here too would multiply the attempts.
      retries: 0,
      offset: 0,
      timeout: REST_TIMEOUT_MS,
      globalRequestsPerSecond: config.global_requests_per_second,
      makeRequest: surfaceRateLimits,
    },
  });
  // Sends work through REST before (and without) the gateway session, e.g. a cron delivery during startup.
  client.rest.setToken(config.token);
  // An own connection pool per account, so stopping one account closes its keep-alive sockets too.
  client.rest.setAgent(new Agent({ connect: { timeout: REST_TIMEOUT_MS } }));
  return client;
}

/** Close the gateway session and the REST connection pool; nothing of the client stays open. */
export async function closeClient(client: Client): Promise<void> {
  client.removeAllListeners();
  const agent = client.rest.agent;
  await client.destroy();
  if (!agent) return;
  let timer: NodeJS.Timeout | undefined;
  const grace = new Promise<"late">((resolve) => (timer = setTimeout(() => resolve("late"), CLOSE_GRACE_MS)));
  const outcome = await Promise.race([agent.close().then(() => "closed" as const), grace]);
  clearTimeout(timer);
  if (outcome === "late") await agent.destroy();
}
