import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Gateway } from "../gateway/types.ts";
import { type Logger, silentLogger } from "../logger.ts";
import type { LeaseTable } from "../sessions/store-types.ts";
import { publish } from "../telemetry/facts.ts";
import { deliveryRefusal, parseDeliveryTarget, resolveAddress } from "./delivery.ts";
import type { CronJob } from "./jobs.ts";
import { type CronManager, jobSchedule } from "./manager.ts";
import { isRecurring, nextRunAfter } from "./schedule.ts";
import { CronDirWatcher } from "./watch.ts";

export interface CronRunResult {
  agentId: string;
  jobId: string;
  status: "ok" | "error" | "silent" | "missed" | "skipped";
  text: string;
  error?: string;
  outputFile?: string;
  delivered: boolean;
  /** Why delivery was refused at delivery time (the target no longer routes to the agent). */
  refused?: string;
}

export interface CronSchedulerOptions {
  gateway: Gateway;
  manager: CronManager;
  /** The leases of job slots (the session store's). */
  leases: LeaseTable;
  now?: () => number;
  logger?: Logger;
  /** Identifies this gateway in leases. */
  holder?: string;
  maxConcurrency?: number;
  /** How late a one-shot job may still run after downtime. */
  graceMs?: number;
  /** How late a recurring job's slot may still run; older slots are fast-forwarded. */
  recurringGraceMs?: number;
  /** The longest the timer sleeps before re-reading jobs. */
  maxSleepMs?: number;
  /** Watch each agent's `cron/` folder so jobs added by other processes are picked up at once (default true). */
  watch?: boolean;
}

const SILENT = "[SILENT]";

function stamp(ms: number): string {
  return new Date(ms).toISOString().replace(/[:.]/g, "-");
}

/**
 * Runs each due job as a turn of its owning agent, in the session `agent:<agent>:cron:<job>`, and delivers
 * the reply through that agent's routed platform account. Wakes at the next due time; a lease per job slot
 * in `state.db` keeps two gateways on one home from running the same slot twice.
 */
export class CronScheduler {
  readonly #o: Required<Omit<CronSchedulerOptions, "logger">> & { logger: Logger };
  readonly #running = new Set<string>();
  #active = 0;
  #queue: Array<() => void> = [];
  #timer: NodeJS.Timeout | undefined;
  #started = false;
  #ticking: Promise<CronRunResult[]> | undefined;
  #watcher: CronDirWatcher | undefined;
  /** The broken `jobs.json` files already reported, by agent, so each problem is logged once. */
  readonly #reported = new Map<string, string>();

  constructor(options: CronSchedulerOptions) {
    this.#o = {
      now: Date.now,
      logger: silentLogger(),
      holder: `${process.pid}-${randomBytes(4).toString("hex")}`,
      maxConcurrency: 4,
      graceMs: 2 * 3_600_000,
      recurringGraceMs: 120_000,
      maxSleepMs: 300_000,
      watch: true,
      ...options,
    };
    options.manager.onChange = () => {
      if (this.#started) this.#arm();
    };
  }

  #lastTickAt: number | undefined;

  start(): void {
    this.#started = true;
    if (this.#o.watch) {
      this.#watcher = new CronDirWatcher({
        onChange: () => {
          if (this.#started) this.#arm();
        },
        onError: (dir, err) =>
          this.#o.logger.warn(
            { err, dir },
            `cron: cannot watch ${dir}; changes made there by other processes are seen within ${Math.round(this.#o.maxSleepMs / 1000)} s`,
          ),
      });
    }
    this.#arm();
  }

  stop(): void {
    this.#started = false;
    this.#watcher?.close();
    this.#watcher = undefined;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** The earliest due time of any enabled job, or undefined. */
  async nextWake(): Promise<number | undefined> {
    let next: number | undefined;
    for (const { job } of await this.#jobs()) {
      if (job.enabled && job.nextRunAt !== null && (next === undefined || job.nextRunAt < next))
        next = job.nextRunAt;
    }
    return next;
  }

  /** Every readable agent's jobs; a broken file is logged (once per problem) and its agent skipped. */
  async #jobs(): Promise<Array<{ agentId: string; job: CronJob }>> {
    const { jobs, broken } = await this.#o.manager.scan();
    const now = new Set(broken.map((b) => b.agentId));
    for (const agentId of this.#reported.keys()) if (!now.has(agentId)) this.#reported.delete(agentId);
    for (const b of broken) {
      if (this.#reported.get(b.agentId) === b.error) continue;
      this.#reported.set(b.agentId, b.error);
      this.#o.logger.error(
        { agent: b.agentId, file: b.file, error: b.error },
        `cron: agent ${b.agentId}'s jobs are skipped until ${b.file} is fixed: ${b.error}`,
      );
    }
    return jobs;
  }

  #arm(): void {
    clearTimeout(this.#timer);
    this.#watcher?.sync(this.#o.manager.cronDirs().map((d) => d.dir));
    void this.nextWake().then(
      (next) => {
        if (!this.#started) return;
        const now = this.#o.now();
        const delay =
          next === undefined ? this.#o.maxSleepMs : Math.min(Math.max(0, next - now), this.#o.maxSleepMs);
        clearTimeout(this.#timer);
        this.#timer = setTimeout(() => {
          void this.tick().finally(() => {
            if (this.#started) this.#arm();
          });
        }, delay);
        this.#timer.unref?.();
      },
      (err: unknown) => this.#o.logger.error({ err }, "cron: cannot read jobs"),
    );
  }

  /** Run every job due at `now` (default the clock). Tests call this with an injected clock. */
  tick(now = this.#o.now()): Promise<CronRunResult[]> {
    const run = (this.#ticking ?? Promise.resolve([])).then(() => this.#tick(now));
    this.#ticking = run.catch(() => []);
    return run;
  }

  /** Whether it runs, who it leases as, when it last ticked (`/health/ready`). */
  status(): { enabled: boolean; running: boolean; holder: string; lastTickAt?: number } {
    return {
      enabled: true,
      running: this.#started,
      holder: this.#o.holder,
      ...(this.#lastTickAt ? { lastTickAt: this.#lastTickAt } : {}),
    };
  }

  async #tick(now: number): Promise<CronRunResult[]> {
    this.#lastTickAt = now;
    const results = await this.#tickDue(now);
    for (const r of results)
      publish("cron", {
        agentId: r.agentId,
        outcome:
          r.status === "error" ? "error" : r.status === "ok" || r.status === "silent" ? "ok" : "skipped",
      });
    return results;
  }

  async #tickDue(now: number): Promise<CronRunResult[]> {
    const due: Array<Promise<CronRunResult>> = [];
    for (const { agentId, job } of await this.#jobs()) {
      if (!job.enabled || job.nextRunAt === null || job.nextRunAt > now) continue;
      const schedule = jobSchedule(job);
      const late = now - job.nextRunAt;
      const grace = isRecurring(schedule) ? this.#o.recurringGraceMs : this.#o.graceMs;
      if (late > grace) {
        due.push(this.#fastForward(agentId, job, now));
        continue;
      }
      due.push(this.#runSlot(agentId, job, job.nextRunAt, now, false));
    }
    return Promise.all(due);
  }

  /** Run a job now, whatever its schedule (the CLI's `cron run`). */
  async runNow(agentId: string, jobId: string): Promise<CronRunResult> {
    const job = await this.#o.manager.get(agentId, jobId);
    if (!job) throw new Error(`no cron job "${jobId}" for agent "${agentId}"`);
    const now = this.#o.now();
    return this.#runSlot(agentId, job, now, now, true);
  }

  async #fastForward(agentId: string, job: CronJob, now: number): Promise<CronRunResult> {
    const schedule = jobSchedule(job);
    const recurring = isRecurring(schedule);
    await this.#o.manager.update(agentId, (jobs) => {
      const j = jobs.find((x) => x.id === job.id);
      if (!j || j.nextRunAt !== job.nextRunAt) return;
      if (recurring) {
        j.nextRunAt = nextRunAfter(schedule, now, j.anchorAt) ?? null;
      } else {
        j.nextRunAt = null;
        j.enabled = false;
        j.lastStatus = "missed";
        j.lastError = `missed: the gateway was down at ${new Date(job.nextRunAt!).toISOString()}`;
      }
    });
    this.#o.logger.warn(
      { agent: agentId, job: job.id, missedAt: new Date(job.nextRunAt!).toISOString() },
      recurring
        ? "cron: missed runs fast-forwarded to the next slot"
        : "cron: one-shot job missed its grace window",
    );
    return { agentId, jobId: job.id, status: "missed", text: "", delivered: false };
  }

  /** Take a job slot's lease unless another gateway holds an unexpired one. */
  #acquire(key: string, now: number): Promise<boolean> {
    return this.#o.leases.acquire(key, this.#o.holder, 10 * 60_000, now);
  }

  async #slot<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#active >= this.#o.maxConcurrency) await new Promise<void>((r) => this.#queue.push(r));
    this.#active++;
    try {
      return await fn();
    } finally {
      this.#active--;
      this.#queue.shift()?.();
    }
  }

  async #runSlot(
    agentId: string,
    job: CronJob,
    slot: number,
    now: number,
    manual: boolean,
  ): Promise<CronRunResult> {
    const key = `${agentId}:${job.id}`;
    const skipped: CronRunResult = { agentId, jobId: job.id, status: "skipped", text: "", delivered: false };
    if (this.#running.has(key)) return skipped;
    // Marked running before the lease is asked for (an await), so a second tick meanwhile skips it.
    this.#running.add(key);
    try {
      if (!manual && !(await this.#acquire(`${key}@${slot}`, now))) return skipped;
      return await this.#slot(() => this.#execute(agentId, job, slot, manual));
    } finally {
      this.#running.delete(key);
    }
  }

  async #execute(agentId: string, job: CronJob, slot: number, manual: boolean): Promise<CronRunResult> {
    const { gateway, manager, logger } = this.#o;
    const log = logger.child({ agent: agentId, job: job.id });
    const startedAt = this.#o.now();
    let text = "";
    let error: string | undefined;
    /** Tool calls denied because they needed approval: a scheduled run never waits for a human. */
    const denied: string[] = [];
    try {
      const handle = await gateway.turn({
        agentId,
        source: { platform: "cron", chatType: "dm", chatId: job.id, agentId },
        sessionKey: `agent:${agentId}:cron:${job.id}`,
        input: [{ role: "user", content: job.prompt }],
        extraSystem:
          `This is a scheduled run of the cron job "${job.name}" (${job.schedule.input}). ` +
          `Reply with exactly ${SILENT} if there is nothing worth sending.`,
        // The outcome is delivered once the run ends: the model may answer whole.
        stream: false,
      });
      for await (const ev of handle.events) {
        if (ev.type === "text-delta") text += ev.text;
        else if (ev.type === "finish") text = ev.text || text;
        else if (ev.type === "error") error = ev.message;
        else if (ev.type === "approval" && ev.status === "denied") denied.push(ev.toolName);
      }
    } catch (err) {
      error = err instanceof Error ? err.message : String(err);
    }
    const silent = !error && text.trim() === SILENT && denied.length === 0;
    if (denied.length > 0) {
      text = `${text && text.trim() !== SILENT ? `${text}\n\n` : ""}⚠️ Not run: ${denied.join(", ")} — it needs a human's approval, and scheduled runs never wait for one.`;
    }
    const status: "ok" | "error" | "silent" = error ? "error" : silent ? "silent" : "ok";

    // Authorised again now, against the routes in force: not only when the job was created.
    const address = resolveAddress(parseDeliveryTarget(job.deliver), job.origin);
    let refusal: string | undefined;
    if (address && !silent) {
      try {
        refusal = await deliveryRefusal(manager.agent(agentId), address, manager.router(), job.origin);
      } catch (err) {
        refusal = `delivery not authorised: ${err instanceof Error ? err.message : String(err)}`;
      }
      if (refusal) log.warn({ platform: address.platform, account: address.account }, `cron: ${refusal}`);
    }

    // Output is always saved, whatever happens to delivery.
    let outputFile: string | undefined;
    try {
      const dir = join(manager.cronDir(agentId), "output", job.id);
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      outputFile = join(dir, `${stamp(startedAt)}.md`);
      writeFileSync(
        outputFile,
        `# ${job.name}\n\n- job: ${job.id}\n- agent: ${agentId}\n- schedule: ${job.schedule.input}\n- ran: ${new Date(startedAt).toISOString()}\n- status: ${status}\n\n## Prompt\n\n${job.prompt}\n\n## ${error ? "Error" : "Response"}\n\n${error ?? text}\n${refusal ? `\n## Delivery\n\nNot delivered: ${refusal}\n` : ""}`,
        { mode: 0o600 },
      );
    } catch (err) {
      log.error({ err }, "cron: could not save the output");
    }

    let delivered = false;
    let deliveryError: string | undefined = refusal;
    if (address && !silent && !refusal) {
      const body = error ? `⚠️ Cron job "${job.name}" failed: ${error}` : text;
      try {
        await gateway.deliver(address, body, { agentId });
        delivered = true;
      } catch (err) {
        deliveryError = err instanceof Error ? err.message : String(err);
        log.error({ err, platform: address.platform, account: address.account }, "cron: delivery failed");
      }
    }

    const finishedAt = this.#o.now();
    await manager.update(agentId, (jobs) => {
      const j = jobs.find((x) => x.id === job.id);
      if (!j) return;
      j.lastRunAt = startedAt;
      j.lastStatus = status;
      j.lastError = error ?? deliveryError ?? null;
      j.repeat.completed += 1;
      if (manual) return;
      const schedule = jobSchedule(j);
      if (!isRecurring(schedule) || (j.repeat.times !== null && j.repeat.completed >= j.repeat.times)) {
        j.enabled = false;
        j.nextRunAt = null;
      } else {
        if (schedule.kind === "every") j.anchorAt = slot;
        j.nextRunAt = nextRunAfter(schedule, Math.max(slot, finishedAt), j.anchorAt) ?? null;
      }
    });
    log.info({ status, delivered }, `cron job ${job.id} ran: ${status}`);
    return {
      agentId,
      jobId: job.id,
      status,
      text,
      ...(error ? { error } : {}),
      ...(outputFile ? { outputFile } : {}),
      delivered,
      ...(refusal ? { refused: refusal } : {}),
    };
  }
}
