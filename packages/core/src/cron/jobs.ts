import { randomBytes } from "node:crypto";
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";

export const originSchema = z.object({
  platform: z.string(),
  account: z.string().optional(),
  chatId: z.string(),
  chatType: z.enum(["dm", "group", "channel", "thread"]).optional(),
  threadId: z.string().optional(),
  // The rest of the source's match keys, so a delivery back to the origin is routed as the turn was
  // (a DM routed by `user_id` stays that agent's).
  topicId: z.string().optional(),
  parentChatId: z.string().optional(),
  guildId: z.string().optional(),
  userId: z.string().optional(),
  userIdAlt: z.string().optional(),
});
export type JobOrigin = z.infer<typeof originSchema>;

/** One job of `<agent home>/cron/jobs.json`. The file's directory is the owner: no agent id is stored. */
export const jobSchema = z.object({
  id: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/),
  name: z.string(),
  prompt: z.string().min(1),
  schedule: z.object({ input: z.string(), kind: z.enum(["once", "every", "cron", "at"]) }),
  timezone: z.string().optional(),
  deliver: z.string().default("origin"),
  origin: originSchema.optional(),
  enabled: z.boolean().default(true),
  repeat: z.object({
    times: z.number().int().positive().nullable().default(null),
    completed: z.number().int().min(0).default(0),
  }),
  createdAt: z.number(),
  /** When the current schedule period started (anchor for `once` and `every`). */
  anchorAt: z.number(),
  nextRunAt: z.number().nullable(),
  lastRunAt: z.number().nullable().default(null),
  lastStatus: z.enum(["ok", "error", "silent", "missed"]).nullable().default(null),
  lastError: z.string().nullable().default(null),
});
export type CronJob = z.infer<typeof jobSchema>;

const fileSchema = z.object({ version: z.literal(1), jobs: z.array(jobSchema) });

export const JOBS_FILE = "jobs.json";

export function jobsFile(cronDir: string): string {
  return join(cronDir, JOBS_FILE);
}

/** Read an agent's jobs. A missing file is no jobs; an unreadable or corrupt one is an error naming the file and why. */
export function readJobs(cronDir: string): CronJob[] {
  const file = jobsFile(cronDir);
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw new Error(`${file} cannot be read: ${(err as Error).message}`, { cause: err });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`${file} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  const parsed = fileSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const at = issue?.path.length ? ` at ${issue.path.join(".")}` : "";
    throw new Error(`${file} is not a valid jobs file${at}: ${issue?.message}`);
  }
  return parsed.data.jobs;
}

/**
 * Write an agent's jobs atomically: a temp file in the same directory, fsync'd, renamed over the old
 * one (0600). A crash leaves the old file or the new one, never a torn one.
 */
export function writeJobs(cronDir: string, jobs: CronJob[]): void {
  mkdirSync(cronDir, { recursive: true, mode: 0o700 });
  const target = jobsFile(cronDir);
  const tmp = `${target}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  const fd = openSync(tmp, "w", 0o600);
  try {
    writeSync(fd, `${JSON.stringify({ version: 1, jobs }, null, 2)}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, target);
}

export function newJobId(): string {
  return randomBytes(4).toString("hex");
}
