import { sessionFor } from "@switchboard/api-server";
import {
  buildSessionKey,
  type ChatType,
  type ImportedSession,
  type MessageRole,
  type NewMessage,
  type Router,
  type SessionKeyOptions,
  type SessionSource,
  type StoredMessage,
} from "@switchboard/core";
import { splitHermesChat, switchboardChat } from "./chat-ids.ts";
import type { HermesProfile } from "./read-home.ts";
import { isRecord } from "./read-home.ts";

const text = (v: unknown) => (v === undefined || v === null || v === "" ? undefined : String(v));
const CHAT_TYPES = new Set<ChatType>(["dm", "group", "channel", "thread"]);
const ROLES = new Set<MessageRole>(["system", "user", "assistant", "tool"]);

export interface SessionContext {
  agentId: string;
  /** The Switchboard account that now serves `platform` for this profile; undefined when none does. */
  accountOf(platform: string): string | undefined;
  router: Router;
  keyOptions: SessionKeyOptions;
  /** Who continues this profile's API sessions: the identity of its `API_SERVER_KEY`, or the open principal. */
  apiPrincipal: string;
}

export interface SessionPlan {
  sessions: ImportedSession[];
  messages: number;
  /** Sessions that continue: their chat's next message lands in them. */
  continued: number;
  notes: string[];
}

/** The `SessionSource` of an upstream routing-index entry's `origin`, on the account that now serves it. */
function sourceOf(
  entry: Record<string, unknown>,
  hermesKey: string,
  ctx: SessionContext,
): SessionSource | undefined {
  const origin = isRecord(entry.origin) ? entry.origin : {};
  const parts = hermesKey.split(":");
  const platform = text(origin.platform) ?? text(entry.platform) ?? parts[2];
  if (!platform) return undefined;
  const account = ctx.accountOf(platform);
  if (!account) return undefined;
  const rawType = text(origin.chat_type) ?? text(entry.chat_type) ?? parts[3];
  // Telegram reports forum supergroups as "forum"; their topics are threads, the chat itself a group.
  const chatType: ChatType =
    rawType === "forum" ? "group" : CHAT_TYPES.has(rawType as ChatType) ? (rawType as ChatType) : "dm";
  const s: SessionSource = { platform, account, chatType };
  const set = (k: keyof SessionSource, v: unknown) => {
    const t = text(v);
    if (t !== undefined) (s as unknown as Record<string, string>)[k] = t;
  };
  set("chatId", origin.chat_id);
  set("threadId", origin.thread_id);
  set("userId", origin.user_id);
  set("userIdAlt", origin.user_id_alt);
  set("guildId", origin.guild_id ?? origin.scope_id);
  set("parentChatId", origin.parent_chat_id);
  if (s.chatId === undefined && !isRecord(entry.origin)) {
    // No origin recorded: read the key itself (`agent:<ns>:<platform>:<type>:<chat>[:...]`).
    const { chatId, rest } = splitHermesChat(platform, parts.slice(4));
    if (chatId) s.chatId = chatId;
    if (chatType === "dm" && rest[0]) s.threadId = rest[0];
  }
  if (s.chatId !== undefined) {
    // The chat as Switchboard's adapter names it (Yuanbao's `group:<code>` is the group code).
    const chat = switchboardChat(platform, s.chatId, s.threadId);
    s.chatId = chat.chatId;
    if (chat.threadId === undefined) delete s.threadId;
    if (chat.chatType) s.chatType = chat.chatType;
  }
  return s;
}

/** Upstream (OpenAI-shaped) tool calls → Switchboard's `{ id, name, input }`. */
function toolCalls(value: unknown): NewMessage["toolCalls"] {
  if (!Array.isArray(value)) return undefined;
  const calls = value.flatMap((c) => {
    if (!isRecord(c)) return [];
    const fn = isRecord(c.function) ? c.function : c;
    const name = text(fn.name);
    const id = text(c.id);
    if (!name || !id) return [];
    let input: unknown = fn.input ?? fn.arguments ?? {};
    if (typeof input === "string") {
      try {
        input = JSON.parse(input);
      } catch {
        input = { raw: input };
      }
    }
    return [{ id, name, input }];
  });
  return calls.length ? calls : undefined;
}

function convertMessages(messages: StoredMessage[]): NewMessage[] {
  return messages.flatMap((m) => {
    if (!ROLES.has(m.role)) return [];
    const calls = toolCalls(m.toolCalls);
    return [
      {
        role: m.role,
        content: m.content,
        ...(calls ? { toolCalls: calls } : {}),
        ...(m.toolCallId ? { toolCallId: m.toolCallId } : {}),
        createdAt: m.createdAt,
      },
    ];
  });
}

/**
 * Plan a profile's sessions. A session the routing index names is keyed as Switchboard's router and key
 * builder key that chat now (so the chat continues it); an API-server session is keyed so
 * `X-Switchboard-Session-Id: <its id>` continues it; the rest become ended, searchable history.
 */
export function planSessions(profile: HermesProfile, ctx: SessionContext & { who: string }): SessionPlan {
  const plan: SessionPlan = { sessions: [], messages: 0, continued: 0, notes: [] };
  if (!profile.state) return plan;
  const bySession = new Map<string, { key: string; entry: Record<string, unknown> }>();
  for (const [key, entry] of profile.routing) {
    const id = text(entry.session_id);
    if (id) bySession.set(id, { key, entry });
  }
  const active = new Map<string, ImportedSession>();
  let rerouted = 0;
  let unserved = 0;
  for (const { record, messages } of profile.state.sessions) {
    const converted = convertMessages(messages);
    const indexed = bySession.get(record.id);
    const base = {
      agentId: ctx.agentId,
      model: record.model,
      startedAt: record.startedAt,
      updatedAt: record.updatedAt,
      inputTokens: record.inputTokens,
      outputTokens: record.outputTokens,
      title: record.title,
      endedAt: record.endedAt,
      endReason: record.endReason,
    };
    const origin = indexed && isRecord(indexed.entry.origin) ? indexed.entry.origin : undefined;
    if (record.platform === "api_server" || text(origin?.platform) === "api_server") {
      const api = sessionFor(ctx.agentId, record.id, ctx.apiPrincipal);
      plan.sessions.push({
        session: {
          ...base,
          id: api.sessionId,
          sessionKey: api.sessionKey,
          platform: "api_server",
          account: "default",
          chatId: null,
          chatType: "dm",
          threadId: null,
          userId: record.userId,
        },
        messages: converted,
      });
      plan.messages += converted.length;
      if (record.endedAt === null) plan.continued++;
      continue;
    }
    const source = indexed ? sourceOf(indexed.entry, indexed.key, ctx) : undefined;
    if (indexed && !source) unserved++;
    let sessionKey = `agent:${ctx.agentId}:hermes:${record.id}`;
    let live = false;
    if (source) {
      const routed = ctx.router.match(source).agentId;
      if (routed !== ctx.agentId) rerouted++;
      sessionKey = buildSessionKey({ ...source, agentId: ctx.agentId }, ctx.keyOptions);
      live = record.endedAt === null && routed === ctx.agentId;
    }
    const item: ImportedSession = {
      session: {
        ...base,
        id: record.id,
        sessionKey,
        platform: source?.platform ?? record.platform,
        account: source?.account ?? null,
        chatId: source?.chatId ?? null,
        chatType: source?.chatType ?? null,
        threadId: source?.threadId ?? null,
        userId: source?.userId ?? record.userId,
        // What is not continued is history: ended, so no chat resumes it by accident.
        ...(live || record.endedAt !== null ? {} : { endedAt: record.updatedAt, endReason: "imported" }),
      },
      messages: converted,
    };
    if (live) {
      // Two upstream keys can meet in one Switchboard key; the most recent session continues.
      const prev = active.get(sessionKey);
      if (prev && prev.session.updatedAt > record.updatedAt) {
        item.session.endedAt = record.updatedAt;
        item.session.endReason = "superseded";
      } else {
        if (prev) {
          prev.session.endedAt = prev.session.updatedAt;
          prev.session.endReason = "superseded";
        }
        active.set(sessionKey, item);
      }
    }
    plan.sessions.push(item);
    plan.messages += converted.length;
  }
  plan.continued += active.size;
  if (rerouted)
    plan.notes.push(
      `${ctx.who}: ${rerouted} chat session(s) now route to another agent: imported as ${ctx.agentId}'s ended history`,
    );
  if (unserved)
    plan.notes.push(
      `${ctx.who}: ${unserved} session(s) are on platforms not carried over: imported as ended history`,
    );
  return plan;
}
