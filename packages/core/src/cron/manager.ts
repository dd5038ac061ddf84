import { join } from "node:path";
import type { AgentProfile } from "../agents.ts";
import type { GatewayConfig } from "../config/load.ts";
import type { Router } from "../routing/router.ts";
import type { CronService } from "../runner.ts";
import { authorizeTarget, parseDeliveryTarget } from "./delivery.ts";
import {
  type CronJob,
  type JobOrigin,
  jobsFile,
  newJobId,
  originSchema,
  readJobs,
  writeJobs,
} from "./jobs.ts";
import { nextRunAfter, parseSchedule, type Schedule } from "./schedule.ts";

export interface CreateJobInput {
  schedule: string;
  prompt: string;
  name?: string;
  deliver?: string;
  origin?: unknown;
  timezone?: string;
  repeat?: number;
}

export class CronJobError extends Error {
  override name = "CronJobError";
}

/** The schedule of a stored job. */
export function jobSchedule(job: CronJob): Schedule {
  return parseSchedule(job.schedule.input, job.timezone ? { timezone: job.timezone } : {});
}

/** Runs of a repeating schedule looked at to find its shortest gap (cron expressions need not be even). */
const GAP_SAMPLES = 8;

/** The shortest time between two runs of a repeating schedule, ms; `undefined` for one-shot schedules. */
export function shortestGap(schedule: Schedule, now: number): number | undefined {
  if (schedule.kind === "every") return schedule.intervalMs;
  if (schedule.kind !== "cron") return undefined;
  let shortest: number | undefined;
  let at = nextRunAfter(schedule, now, now);
  for (let i = 0; i < GAP_SAMPLES && at !== undefined; i++) {
    const next = nextRunAfter(schedule, at, at);
    if (next === undefined) break;
    if (shortest === undefined || next - at < shortest) shortest = next - at;
    at = next;
  }
  return shortest;
}

function formatSeconds(s: number): string {
  return s >= 60 && s % 60 === 0 ? `${s / 60} min` : `${Math.round(s * 10) / 10} s`;
}

/** An agent whose `jobs.json` cannot be read: its jobs are skipped, the others run. */
export interface BrokenJobsFile {
  agentId: string;
  file: string;
  error: string;
}

/** Jobs of every agent, each in its own home's `cron/jobs.json`. Every call names the agent it acts for. */
export class CronManager implements CronService {
  readonly #config: () => GatewayConfig;
  readonly #router: () => Router;
  readonly #now: () => number;
  /** In-process serialization of read-modify-write per agent. */
  readonly #locks = new Map<string, Promise<unknown>>();
  /** Called after any change (the scheduler re-arms its timer). */
  onChange: (() => void) | undefined;

  constructor(options: { config: () => GatewayConfig; router: () => Router; now?: () => number }) {
    this.#config = options.config;
    this.#router = options.router;
    this.#now = options.now ?? Date.now;
  }

  agent(agentId: string): AgentProfile {
    const a = this.#config().registry.get(agentId);
    if (!a) throw new CronJobError(`no agent "${agentId}"`);
    return a;
  }

  /** The router in force now (delivery is re-authorised against it). */
  router(): Router {
    return this.#router();
  }

  /** Every agent's cron folder. */
  cronDirs(): Array<{ agentId: string; dir: string }> {
    return this.#config()
      .registry.list()
      .map((a) => ({ agentId: a.id, dir: join(a.home, "cron") }));
  }

  cronDir(agentId: string): string {
    return join(this.agent(agentId).home, "cron");
  }

  /** Serialize a read-modify-write of one agent's jobs file. */
  async update<T>(agentId: string, fn: (jobs: CronJob[]) => T): Promise<T> {
    const prev = this.#locks.get(agentId) ?? Promise.resolve();
    const run = prev.then(() => {
      const dir = this.cronDir(agentId);
      const jobs = readJobs(dir);
      const out = fn(jobs);
      writeJobs(dir, jobs);
      return out;
    });
    this.#locks.set(
      agentId,
      run.catch(() => {}),
    );
    const result = await run;
    this.onChange?.();
    return result;
  }

  async create(agentId: string, input: CreateJobInput): Promise<CronJob> {
    const agent = this.agent(agentId);
    const schedule = parseSchedule(input.schedule, input.timezone ? { timezone: input.timezone } : {});
    const origin = input.origin === undefined ? undefined : originSchema.safeParse(input.origin);
    if (origin && !origin.success)
      throw new CronJobError(`invalid origin: ${origin.error.issues[0]?.message}`);
    const originValue: JobOrigin | undefined = origin?.data;
    const deliver = input.deliver ?? (originValue ? "origin" : "local");
    authorizeTarget(agent, parseDeliveryTarget(deliver), originValue, this.#router());
    const now = this.#now();
    const limits = this.#config().cron;
    const gap = shortestGap(schedule, now);
    if (gap !== undefined && gap < limits.min_interval_s * 1000) {
      throw new CronJobError(
        `schedule "${input.schedule}" runs every ${formatSeconds(gap / 1000)}; the shortest interval allowed is ${formatSeconds(limits.min_interval_s)} (cron.min_interval_s)`,
      );
    }
    const nextRunAt = nextRunAfter(schedule, now, now) ?? null;
    if (nextRunAt === null) throw new CronJobError(`schedule "${input.schedule}" has no future run`);
    const job: CronJob = {
      id: newJobId(),
      name: input.name ?? input.prompt.slice(0, 40),
      prompt: input.prompt,
      schedule: { input: schedule.display, kind: schedule.kind },
      ...(input.timezone ? { timezone: input.timezone } : {}),
      deliver,
      ...(originValue ? { origin: originValue } : {}),
      enabled: true,
      repeat: { times: input.repeat ?? null, completed: 0 },
      createdAt: now,
      anchorAt: now,
      nextRunAt,
      lastRunAt: null,
      lastStatus: null,
      lastError: null,
    };
    await this.update(agentId, (jobs) => {
      // Counted under the agent's lock, so concurrent creates cannot pass the cap together.
      if (jobs.length >= limits.max_jobs_per_agent) {
        throw new CronJobError(
          `agent "${agentId}" already has ${jobs.length} scheduled jobs, the most allowed (cron.max_jobs_per_agent): remove one first`,
        );
      }
      jobs.push(job);
    });
    return job;
  }

  async list(agentId: string): Promise<CronJob[]> {
    return readJobs(this.cronDir(agentId));
  }

  async get(agentId: string, jobId: string): Promise<CronJob | undefined> {
    return readJobs(this.cronDir(agentId)).find((j) => j.id === jobId);
  }

  async remove(agentId: string, jobId: string): Promise<boolean> {
    return this.update(agentId, (jobs) => {
      const i = jobs.findIndex((j) => j.id === jobId);
      if (i < 0) return false;
      jobs.splice(i, 1);
      return true;
    });
  }

  async setEnabled(agentId: string, jobId: string, enabled: boolean): Promise<CronJob | undefined> {
    return this.update(agentId, (jobs) => {
      const job = jobs.find((j) => j.id === jobId);
      if (!job) return undefined;
      job.enabled = enabled;
      if (enabled) {
        const now = this.#now();
        const s = jobSchedule(job);
        if (s.kind === "every") job.anchorAt = now;
        job.nextRunAt = nextRunAfter(s, now, job.anchorAt) ?? job.nextRunAt;
      }
      return job;
    });
  }

  /** Find a job by id across every agent (CLI commands that take only an id). */
  async find(jobId: string): Promise<{ agentId: string; job: CronJob } | undefined> {
    for (const { agentId, job } of await this.all()) if (job.id === jobId) return { agentId, job };
    return undefined;
  }

  /** Every agent's jobs; an unreadable or malformed file is skipped (see `scan` for which). */
  async all(): Promise<Array<{ agentId: string; job: CronJob }>> {
    return (await this.scan()).jobs;
  }

  /** Every readable agent's jobs, and the agents whose `jobs.json` could not be read, with the reason. */
  async scan(): Promise<{ jobs: Array<{ agentId: string; job: CronJob }>; broken: BrokenJobsFile[] }> {
    const jobs: Array<{ agentId: string; job: CronJob }> = [];
    const broken: BrokenJobsFile[] = [];
    for (const { agentId, dir } of this.cronDirs()) {
      try {
        for (const job of readJobs(dir)) jobs.push({ agentId, job });
      } catch (err) {
        broken.push({
          agentId,
          file: jobsFile(dir),
          error: err instanceof Error ? err.message : String(err),
        });
      }
    }
    return { jobs, broken };
  }
}
