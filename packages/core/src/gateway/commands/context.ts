import type { AgentProfile } from "../../agents.ts";
import type { RouteConfig } from "../../config/schema.ts";
import type { UserTier } from "../../pairing/policy.ts";
import type { Resolution } from "../../routing/router.ts";
import type { SessionSource } from "../../sessions/source.ts";
import type { SessionRecord, SessionStore, StoredMessage } from "../../sessions/store-types.ts";

/** What a chat command may read and do: everything it needs is passed in, per message. */
export interface CommandContext {
  profile: AgentProfile;
  resolution: Resolution;
  sessionKey: string;
  source: SessionSource;
  store: SessionStore;
  routes: readonly RouteConfig[];
  /** Who runs the command, for the audit log (`telegram:42`). */
  actor?: string;
  openSession(options?: { forceNew?: boolean }): Promise<SessionRecord>;
  /** Abort the running turn of this session; false when none runs. */
  stop(): boolean;
  /** Answer a pending approval of this chat (`args`: `[id] [reason]`); returns the reply. */
  answerApproval?(approved: boolean, args: string): string;
  /** Usage and admin platform control (`/usage`, `/platform`). */
  operate?: OperateCommands;
  /** The sender's tier on this platform account (`/whoami`). */
  tier?(): Promise<UserTier>;
  /** Whether a turn of this session is running or queued (history edits wait for it). */
  busy?(): boolean;
  /** Queue a stored user message of `session` as a new turn, without storing it again (`/retry`). */
  rerun?(session: SessionRecord, message: StoredMessage): void;
  /**
   * Summarise a transcript with the agent's model (`/compress`), its usage recorded against `sessionId`; rejects
   * with what went wrong (a used-up budget included).
   */
  summarize?(sessionId: string, transcript: string): Promise<string>;
  /** Send `text` to a DM of this platform account (`/pair approve` tells the approved user). */
  tellDm?(chatId: string, text: string): Promise<void>;
  /** Serve this chat with agent `id` from the next message (`/agent <id>`, admins); returns the reply. */
  switchAgent?(id: string): Promise<string>;
}

export interface OperateCommands {
  usage(): Promise<string>;
  isAdmin(): boolean;
  /** Pause / resume the sends of matching accounts (`telegram` or `telegram/work`); returns them. */
  pause(name: string): string[];
  resume(name: string): string[];
  health(): Array<{ platform: string; account: string; state: string; reason?: string }>;
}

/** One command's answer to `/name args`; `""` sends nothing; `undefined` passes the message on to the agent. */
export type CommandHandler = (
  args: string,
  ctx: CommandContext,
) => Promise<string | undefined> | string | undefined;
