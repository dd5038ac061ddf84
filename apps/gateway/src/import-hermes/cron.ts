import {
  type CronJob,
  formatTarget,
  jobSchema,
  nextRunAfter,
  parseSchedule,
  type Schedule,
} from "@switchboard/core";
import { splitHermesChat, switchboardChat } from "./chat-ids.ts";
import { PLATFORM_MAP } from "./platforms.ts";
import { isRecord } from "./read-home.ts";

const str = (v: unknown) => (typeof v === "string" && v.trim() ? v.trim() : undefined);
const KNOWN_PLATFORMS = new Set(Object.keys(PLATFORM_MAP));

/** Upstream stores times as ISO strings (sometimes epoch seconds); undefined when absent or unreadable. */
function time(v: unknown): number | undefined {
  if (typeof v === "number" && Number.isFinite(v)) return v < 1e12 ? Math.round(v * 1000) : v;
  if (typeof v === "string" && v) {
    const t = Date.parse(v);
    return Number.isNaN(t) ? undefined : t;
  }
  return undefined;
}

export interface CronContext {
  who: string;
  /** The Switchboard account that serves a platform for this profile (its own bot, else the shared one). */
  accountOf(platform: string): string | undefined;
  /** The profile's home channels (`<PLATFORM>_HOME_CHANNEL`), for a bare `deliver: telegram`. */
  homeChannel(platform: string): string | undefined;
  timezone: string | undefined;
  now: number;
}

export interface ConvertedJob {
  job?: CronJob;
  /** Explicit targets the job delivered to in Hermes: allowed for the agent (`cron.allowed_targets`). */
  allowedTargets: string[];
  notes: string[];
}

/** The Switchboard schedule text of an upstream `schedule` object (`once`/`interval`/`cron`) or string. */
function scheduleText(job: Record<string, unknown>): string | undefined {
  const s = job.schedule;
  if (typeof s === "string") return s;
  if (!isRecord(s)) return str(job.schedule_display);
  if (s.kind === "interval" && typeof s.minutes === "number") return `every ${s.minutes}m`;
  if (s.kind === "cron") return str(s.expr) ?? str(s.expression);
  if (s.kind === "once") return str(s.run_at);
  return str(s.display) ?? str(job.schedule_display);
}

/** Map one upstream delivery target to Switchboard's grammar (upstream lists may hold several). */
function deliverTarget(
  raw: string,
  origin: CronJob["origin"],
  ctx: CronContext,
  notes: string[],
): { deliver: string; allowed?: string } {
  const [first, ...rest] = raw
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  if (rest.length)
    notes.push(`${ctx.who}: delivers to ${raw}; Switchboard delivers each job to one target: kept ${first}`);
  const t = first ?? "origin";
  if (t === "origin" || t === "local") return { deliver: t };
  const [platform, ...parts] = t.split(":");
  if (!platform || !KNOWN_PLATFORMS.has(platform)) {
    notes.push(
      `${ctx.who}: delivery target ${t} is on a platform Switchboard does not serve: kept as local files`,
    );
    return { deliver: "local" };
  }
  const account = ctx.accountOf(platform);
  if (!account) {
    notes.push(
      `${ctx.who}: delivery target ${t} has no ${platform} account in the import: kept as local files`,
    );
    return { deliver: "local" };
  }
  const split = splitHermesChat(platform, parts);
  let chatId = split.chatId;
  let threadId = split.rest.join(":") || undefined;
  if (!chatId) {
    if (origin?.platform === platform) return { deliver: "origin" };
    const home = ctx.homeChannel(platform);
    if (!home) {
      notes.push(
        `${ctx.who}: deliver "${t}" needs ${platform}'s home channel, which is not set: kept as local files`,
      );
      return { deliver: "local" };
    }
    [chatId, threadId] = [home, undefined];
  }
  if (chatId.startsWith("#")) {
    notes.push(
      `${ctx.who}: delivery target ${t} names a channel by label; Switchboard needs its id: kept as local files`,
    );
    return { deliver: "local" };
  }
  const chat = switchboardChat(platform, chatId, threadId);
  // A bare Switchboard target loses the kind Hermes spelled out (`group:`); the origin keeps it.
  if (
    chat.chatType &&
    origin?.platform === platform &&
    origin.account === account &&
    origin.chatId === chat.chatId &&
    origin.threadId === chat.threadId
  )
    return { deliver: "origin" };
  if (chat.chatType === "group")
    notes.push(
      `${ctx.who}: delivers to ${platform} group ${chat.chatId}: a bare target does not say it is a group, so the adapter sends it to the group once it has seen a message there since it started (else as a private message)`,
    );
  const target = formatTarget({
    platform,
    account,
    chatId: chat.chatId,
    ...(chat.threadId ? { threadId: chat.threadId } : {}),
  });
  return { deliver: target, allowed: target };
}

/** Convert one upstream cron job (`cron/jobs.json`) into a Switchboard job of the owning agent. */
export function convertJob(raw: Record<string, unknown>, ctx: CronContext): ConvertedJob {
  const notes: string[] = [];
  const id = str(raw.id)?.toLowerCase();
  const label = `${ctx.who}: cron job ${str(raw.name) ?? id ?? "(no id)"}`;
  const c = { ...ctx, who: label };
  const skills = [
    ...(Array.isArray(raw.skills) ? raw.skills.filter((s) => typeof s === "string") : []),
    ...(str(raw.skill) ? [str(raw.skill)!] : []),
  ];
  let prompt = str(raw.prompt) ?? "";
  if (skills.length) {
    prompt = `Use the skill${skills.length > 1 ? "s" : ""} ${skills.join(", ")}.${prompt ? `\n\n${prompt}` : ""}`;
    notes.push(
      `${label}: names skills (${skills.join(", ")}); Switchboard jobs have only a prompt, which now asks for them`,
    );
  }
  if (!id || !/^[a-z0-9][a-z0-9_-]{0,63}$/.test(id) || !prompt)
    return { allowedTargets: [], notes: [...notes, `${label}: has no usable id or prompt: not imported`] };
  if (str(raw.model) || str(raw.provider) || str(raw.base_url))
    notes.push(`${label}: has its own model; Switchboard runs jobs on the agent's model`);

  const text = scheduleText(raw);
  let schedule: Schedule;
  try {
    schedule = parseSchedule(text ?? "", ctx.timezone ? { timezone: ctx.timezone } : {});
  } catch (err) {
    return {
      allowedTargets: [],
      notes: [...notes, `${label}: ${(err as Error).message.split("\n")[0]}: not imported`],
    };
  }
  const o = isRecord(raw.origin) ? raw.origin : undefined;
  let origin: CronJob["origin"];
  const originPlatform = str(o?.platform);
  const originAccount = originPlatform ? ctx.accountOf(originPlatform) : undefined;
  if (o && originPlatform && originAccount && o.chat_id !== undefined) {
    const chat = switchboardChat(
      originPlatform,
      String(o.chat_id),
      o.thread_id !== undefined && o.thread_id !== null ? String(o.thread_id) : undefined,
    );
    const chatType =
      chat.chatType ??
      (["dm", "group", "channel", "thread"].includes(String(o.chat_type))
        ? (o.chat_type as "dm")
        : undefined);
    origin = {
      platform: originPlatform,
      account: originAccount,
      chatId: chat.chatId,
      ...(chatType ? { chatType } : {}),
      ...(chat.threadId ? { threadId: chat.threadId } : {}),
    };
  }
  const target = deliverTarget(str(raw.deliver) ?? (origin ? "origin" : "local"), origin, c, notes);
  if (target.deliver === "origin" && !origin) {
    notes.push(`${label}: delivered to its origin chat, which is not served here: kept as local files`);
    target.deliver = "local";
  }

  const repeat = isRecord(raw.repeat) ? raw.repeat : {};
  const times = typeof repeat.times === "number" && repeat.times > 0 ? repeat.times : null;
  const completed = typeof repeat.completed === "number" && repeat.completed > 0 ? repeat.completed : 0;
  let enabled = raw.enabled !== false && raw.state !== "paused";
  if (str(raw.script)) {
    enabled = false;
    notes.push(
      `${label}: runs a pre-run script (${str(raw.script)}), which Switchboard does not support: imported disabled`,
    );
  }
  const createdAt = time(raw.created_at) ?? ctx.now;
  const lastRunAt = time(raw.last_run_at) ?? null;
  // Keep the job's phase: an interval's anchor is one period before its next run.
  const storedNext = time(raw.next_run_at);
  let anchorAt = createdAt;
  if (schedule.kind === "every" && storedNext !== undefined) anchorAt = storedNext - schedule.intervalMs;
  if (schedule.kind === "once") anchorAt = (storedNext ?? createdAt + schedule.delayMs) - schedule.delayMs;
  let nextRunAt = nextRunAfter(schedule, ctx.now, anchorAt) ?? null;
  if (times !== null && completed >= times) nextRunAt = null;
  if (nextRunAt === null && schedule.kind !== "cron" && schedule.kind !== "every")
    notes.push(
      `${label}: a one-shot that already ran or whose time has passed: imported finished (no next run)`,
    );
  const status = str(raw.last_status);
  const job = jobSchema.parse({
    id,
    name: str(raw.name) ?? prompt.slice(0, 40),
    prompt,
    schedule: { input: schedule.display, kind: schedule.kind },
    ...(ctx.timezone && schedule.kind === "cron" ? { timezone: ctx.timezone } : {}),
    deliver: target.deliver,
    ...(origin ? { origin } : {}),
    enabled: enabled && nextRunAt !== null,
    repeat: { times, completed },
    createdAt,
    anchorAt,
    nextRunAt,
    lastRunAt,
    lastStatus: status === "ok" || status === "error" ? status : null,
    lastError: str(raw.last_error) ?? null,
  });
  return { job, allowedTargets: target.allowed ? [target.allowed] : [], notes };
}
