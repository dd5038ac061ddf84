import type { Server } from "node:http";
import { serve } from "@hono/node-server";
import type { GatewayMetrics } from "@switchboard/api-server";
import type { Logger } from "@switchboard/core";

/**
 * `metrics.listen`: `/metrics` without a key on its own address (keep it on a private interface), for
 * scrapers that cannot send the admin key.
 */
export async function startMetricsListener(
  listen: string,
  metrics: GatewayMetrics,
  logger: Logger,
  /** The main listener's timeouts, so a slow client cannot hold this port either. */
  serverOptions: import("node:http").ServerOptions = {},
): Promise<{ url: string; close(): Promise<void> }> {
  const at = listen.lastIndexOf(":");
  const host = listen.slice(0, at).replace(/^\[|\]$/g, "");
  const port = Number(listen.slice(at + 1));
  const fetch = async (request: Request): Promise<Response> => {
    if (new URL(request.url).pathname !== "/metrics" || request.method !== "GET")
      return new Response("only GET /metrics is served here\n", { status: 404 });
    return new Response(await metrics.render(), { headers: { "content-type": metrics.contentType } });
  };
  const server = await new Promise<Server>((resolve, reject) => {
    const s = serve({ fetch, hostname: host, port, serverOptions }, () => resolve(s as Server)) as Server;
    s.once("error", (err: NodeJS.ErrnoException) =>
      reject(
        err.code === "EADDRINUSE"
          ? new Error(`metrics.listen ${listen} is in use: choose another port`, { cause: err })
          : err,
      ),
    );
  });
  const addr = server.address() as import("node:net").AddressInfo;
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${addr.port}/metrics`;
  logger.info({ url }, `metrics on ${url}`);
  return {
    url,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
