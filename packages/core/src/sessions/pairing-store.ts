/** A stranger's request to talk to the bot: the code they were given, until it expires. Times are epoch ms. */
export interface PairingRequest {
  code: string;
  platform: string;
  account: string;
  userId: string;
  userName: string | null;
  /** The DM the code was sent to. */
  chatId: string;
  createdAt: number;
  expiresAt: number;
}

/** A user an operator let in: they pass the gate of that platform account like `allowed_users`. */
export interface PairingApproval {
  platform: string;
  account: string;
  userId: string;
  userName: string | null;
  /** Who approved (`cli:<user>`, `telegram:42`, `console:<key>`). */
  approvedBy: string;
  approvedAt: number;
  /** The code that was approved. */
  code: string | null;
}

export interface PairingRequestInput {
  platform: string;
  account: string;
  userId: string;
  userName?: string | undefined;
  chatId: string;
  /** The code to give when the user has no live one (the caller makes it; unique among live codes). */
  code: string;
  ttlMs: number;
  /** Live requests the platform account may hold; a new one past it is refused (`full`). */
  maxPending: number;
  now?: number;
}

export type PairingRequestResult =
  | { status: "created" | "existing"; request: PairingRequest }
  | { status: "full"; pending: number };

/**
 * Pairing in the store: pending codes (bounded per platform account, expired ones purged as new ones come) and
 * approvals per platform account. Each call is atomic; codes are matched case-insensitively.
 */
export interface PairingTable {
  /**
   * The user's live request, or a new one with `code`; `full` when the account already holds `maxPending` live
   * requests. Expired requests of the account are removed first, in the same commit.
   */
  request(input: PairingRequestInput): Promise<PairingRequestResult>;
  /** Live requests, oldest first. */
  pending(options?: { platform?: string; account?: string; now?: number }): Promise<PairingRequest[]>;
  /** Approve a live code: the request is removed and the user approved in one commit; `undefined` when no live request has it. */
  approve(code: string, approvedBy: string, now?: number): Promise<PairingApproval | undefined>;
  /** Drop a live code; `undefined` when no live request has it. */
  deny(code: string, now?: number): Promise<PairingRequest | undefined>;
  /** Remove a user's approvals (of one account, or of every account of the platform). Resolves with how many. */
  revoke(platform: string, userId: string, account?: string): Promise<number>;
  isApproved(platform: string, account: string, userId: string): Promise<boolean>;
  /** Approved users, oldest first. */
  approved(options?: { platform?: string; account?: string }): Promise<PairingApproval[]>;
}

/** An admin's `/agent <id>` for one chat: the agent that serves it instead of the routed one. */
export interface ChatAgentOverride {
  agentId: string;
  setBy: string;
  setAt: number;
}

/** Chat agent overrides, by chat (`telegram@work:-100123[:thread]`, see `chatScope`). */
export interface ChatAgentTable {
  get(chat: string): Promise<ChatAgentOverride | undefined>;
  set(chat: string, agentId: string, setBy: string, now?: number): Promise<void>;
  /** True when an override was removed. */
  clear(chat: string): Promise<boolean>;
}
