import type { AgentProfile } from "../../agents.ts";
import type { RouteConfig } from "../../config/schema.ts";
import type { Resolution } from "../../routing/router.ts";
import type { SessionSource } from "../../sessions/source.ts";
import type { SessionRecord, SessionStore } from "../../sessions/store-types.ts";

/** What a chat command may read and do: everything it needs is passed in, per message. */
export interface CommandContext {
  profile: AgentProfile;
  resolution: Resolution;
  sessionKey: string;
  source: SessionSource;
  store: SessionStore;
  routes: readonly RouteConfig[];
  openSession(options?: { forceNew?: boolean }): Promise<SessionRecord>;
  /** Abort the running turn of this session; false when none runs. */
  stop(): boolean;
  /** Answer a pending approval of this chat (`args`: `[id] [reason]`); returns the reply. */
  answerApproval?(approved: boolean, args: string): string;
  /** Usage and admin platform control (`/usage`, `/platform`). */
  operate?: OperateCommands;
}

export interface OperateCommands {
  usage(): Promise<string>;
  isAdmin(): boolean;
  /** Pause / resume the sends of matching accounts (`telegram` or `telegram/work`); returns them. */
  pause(name: string): string[];
  resume(name: string): string[];
  health(): Array<{ platform: string; account: string; state: string; reason?: string }>;
}

/** One command's answer to `/name args`; `undefined` sends nothing. */
export type CommandHandler = (
  args: string,
  ctx: CommandContext,
) => Promise<string | undefined> | string | undefined;
