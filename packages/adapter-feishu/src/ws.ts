import * as lark from "@larksuiteoapi/node-sdk";
import { type Logger, PlatformError } from "@switchboard/core";
import { larkLogger } from "./api.ts";
import { PLATFORM } from "./types.ts";

/** How long `start()` waits for the long connection before going on (the SDK keeps retrying in the background). */
const CONNECT_TIMEOUT_MS = 20_000;

export interface LongConnectionOptions {
  appId: string;
  appSecret: string;
  baseUrl: string;
  logger: Logger;
  httpInstance: lark.HttpInstance;
  cache: lark.Cache;
  /** Handle one `im.message.receive_v1` event (the SDK's flattened `{event_id, …, sender, message}`). */
  onMessage(data: Record<string, unknown>): Promise<void>;
}

/**
 * Open the SDK's long connection (WebSocket, protobuf frames) and resolve once it is up. A credentials error
 * rejects; a slow or unreachable endpoint only logs, since the SDK reconnects on its own.
 * @see https://open.feishu.cn/document/server-docs/event-subscription-guide/event-subscription-configure-/request-url-configuration-case#using-long-connection
 */
export async function startLongConnection(opts: LongConnectionOptions): Promise<lark.WSClient> {
  const dispatcher = new lark.EventDispatcher({
    logger: larkLogger(opts.logger),
    loggerLevel: lark.LoggerLevel.info,
    cache: opts.cache,
  }).register({
    "im.message.receive_v1": async (data: unknown) => {
      await opts.onMessage(data as Record<string, unknown>);
    },
  });
  let settle: ((error?: Error) => void) | undefined;
  const settled = new Promise<Error | undefined>((resolve) => {
    settle = resolve;
  });
  const client = new lark.WSClient({
    appId: opts.appId,
    appSecret: opts.appSecret,
    domain: opts.baseUrl,
    httpInstance: opts.httpInstance,
    logger: larkLogger(opts.logger),
    loggerLevel: lark.LoggerLevel.info,
    autoReconnect: true,
    onReady: () => settle?.(),
    onError: (err) => settle?.(err),
  });
  await client.start({ eventDispatcher: dispatcher });
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    settled,
    new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), CONNECT_TIMEOUT_MS);
    }),
  ]);
  clearTimeout(timer);
  if (outcome === "timeout") {
    opts.logger.warn("feishu long connection not up yet; the SDK keeps retrying");
  } else if (outcome instanceof Error) {
    client.close({ force: true });
    throw new PlatformError(
      PLATFORM,
      `feishu long connection failed: ${outcome.message}: check app_id and app_secret`,
      { cause: outcome },
    );
  }
  return client;
}
