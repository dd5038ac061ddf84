import { isLoopback } from "@switchboard/core";
import type { Principal } from "../auth.ts";
import type { ApiContext, ApiHonoContext } from "../context.ts";
import { ApiError } from "../errors.ts";

export function forbidden(what: string): ApiError {
  return new ApiError(403, `${what} needs an API key with admin: true.`, {
    type: "invalid_request_error",
    code: "admin_required",
  });
}

/** The caller's principal, which must be an admin key (the open loopback API counts as admin). */
export function requireAdmin(ctx: ApiContext, c: ApiHonoContext, what: string): Principal {
  const principal = ctx.keys().authenticate(c.req.header("authorization"));
  if (!principal.admin) throw forbidden(what);
  return principal;
}

/** The peer address of a request served by `@hono/node-server` (undefined elsewhere). */
export function remoteAddress(c: ApiHonoContext): string | undefined {
  type Bindings = { incoming?: { socket?: { remoteAddress?: string } } };
  const env = c.env as (Bindings & { server?: Bindings }) | undefined;
  return (env?.server ?? env)?.incoming?.socket?.remoteAddress;
}

/** Loopback callers, or admin keys. */
export function requireLoopbackOrAdmin(ctx: ApiContext, c: ApiHonoContext, what: string): void {
  const peer = remoteAddress(c);
  if (peer && isLoopback(peer.replace(/^::ffff:/, ""))) return;
  requireAdmin(ctx, c, what);
}
