import type { AgentProfile } from "../../agents.ts";
import type { GatewayConfig } from "../../config/load.ts";
import type { Logger } from "../../logger.ts";
import type { Operations } from "../../operate/operations.ts";
import type { Address, PlatformAdapter } from "../../platform.ts";
import type { RetryOptions } from "../retry.ts";
import type { EditPacer } from "./edit-pacer.ts";
import { StreamReply, type StreamTiming } from "./stream-reply.ts";

/** Whether a chat reply streams into the chat, and with a tool status line. */
export interface StreamChoice {
  toolStatus: boolean;
}

/**
 * Stream when the adapter can edit and neither `platforms.<name>.streaming` (per account) nor
 * `agents.<id>.streaming` says `off`; `undefined` sends the reply whole at the end, as before.
 */
export function streamChoice(
  config: GatewayConfig,
  adapter: PlatformAdapter | undefined,
  address: Address,
  profile: AgentProfile,
): StreamChoice | undefined {
  if (!adapter?.edit || !adapter.capabilities.edit) return undefined;
  const account = config.platformAccounts.get(address.platform)?.get(address.account) as
    | { streaming?: "off" | "edit"; streaming_tool_status?: boolean }
    | undefined;
  if (account?.streaming === "off" || profile.streaming === "off") return undefined;
  return { toolStatus: account?.streaming_tool_status !== false };
}

/** What a platform turn needs to stream its reply (built once by the gateway). */
export interface ReplyStreamDeps {
  adapter(platform: string, account: string): PlatformAdapter | undefined;
  ops: Operations;
  logger: Logger;
  pacer: EditPacer;
  retry?: RetryOptions | undefined;
  timing: StreamTiming;
}

/** A `StreamReply` for this reply, or `undefined` when it is sent whole (see `streamChoice`). */
export function openReplyStream(
  deps: ReplyStreamDeps,
  config: GatewayConfig,
  address: Address,
  profile: AgentProfile,
  turnId: string,
): StreamReply | undefined {
  const adapter = deps.adapter(address.platform, address.account);
  const choice = streamChoice(config, adapter, address, profile);
  if (!adapter || !choice) return undefined;
  return new StreamReply({
    adapter,
    address,
    ops: deps.ops,
    logger: deps.logger,
    pacer: deps.pacer,
    retry: deps.retry,
    timing: deps.timing,
    toolStatus: choice.toolStatus,
    turnId,
  });
}
