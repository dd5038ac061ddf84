import { Cron } from "croner";

/** A parsed schedule. Times are epoch milliseconds. */
export type Schedule =
  | { kind: "once"; display: string; delayMs: number }
  | { kind: "every"; display: string; intervalMs: number }
  | { kind: "cron"; display: string; expr: string; timezone?: string }
  | { kind: "at"; display: string; at: number };

export const SCHEDULE_FORMS = [
  "30m, 2h, 1d (once, after that delay)",
  "every 30m, every 2h (repeating)",
  'a 5- or 6-field cron expression, e.g. "0 9 * * 1-5" (with an optional time zone)',
  "an ISO timestamp, e.g. 2026-12-24T18:00:00+01:00 (once, at that time)",
];

export class ScheduleError extends Error {
  override name = "ScheduleError";
}

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

function duration(text: string): number | undefined {
  const m = /^(\d+)\s*(s|m|h|d|w)$/i.exec(text.trim());
  if (!m) return undefined;
  const ms = Number(m[1]) * UNIT_MS[m[2]!.toLowerCase()]!;
  return ms > 0 ? ms : undefined;
}

function checkTimezone(tz: string): void {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
  } catch {
    throw new ScheduleError(
      `unknown time zone "${tz}": use an IANA name such as Europe/Berlin or America/New_York`,
    );
  }
}

/** Parse a schedule as written. Invalid input throws a `ScheduleError` that lists the accepted forms. */
export function parseSchedule(input: string, options: { timezone?: string } = {}): Schedule {
  const text = input.trim();
  const invalid = (why: string) =>
    new ScheduleError(
      `invalid schedule "${input}": ${why}. Accepted forms:\n${SCHEDULE_FORMS.map((f) => `  - ${f}`).join("\n")}`,
    );
  if (!text) throw invalid("it is empty");
  const once = duration(text);
  if (once !== undefined) return { kind: "once", display: text, delayMs: once };
  const every = /^every\s+(.+)$/i.exec(text);
  if (every) {
    const ms = duration(every[1]!);
    if (ms === undefined) throw invalid(`"${every[1]}" is not a duration like 30m, 2h or 1d`);
    return { kind: "every", display: text, intervalMs: ms };
  }
  if (/^\d{4}-\d{2}-\d{2}/.test(text)) {
    const at = Date.parse(text);
    if (Number.isNaN(at)) throw invalid("it is not a valid ISO timestamp");
    return { kind: "at", display: text, at };
  }
  const fields = text.split(/\s+/);
  if (fields.length === 5 || fields.length === 6) {
    if (options.timezone) checkTimezone(options.timezone);
    try {
      new Cron(text, { paused: true, ...(options.timezone ? { timezone: options.timezone } : {}) });
    } catch (err) {
      throw invalid(err instanceof Error ? err.message : "it is not a valid cron expression");
    }
    return {
      kind: "cron",
      display: text,
      expr: text,
      ...(options.timezone ? { timezone: options.timezone } : {}),
    };
  }
  throw invalid("it matches none of them");
}

/**
 * The first run strictly after `after`. `anchor` is when the job was created (for `once`) or last
 * scheduled (for `every`). `undefined` when the schedule has no further runs.
 */
export function nextRunAfter(schedule: Schedule, after: number, anchor: number): number | undefined {
  switch (schedule.kind) {
    case "once": {
      const at = anchor + schedule.delayMs;
      return at > after ? at : undefined;
    }
    case "at":
      return schedule.at > after ? schedule.at : undefined;
    case "every": {
      if (anchor > after) return anchor;
      const steps = Math.floor((after - anchor) / schedule.intervalMs) + 1;
      return anchor + steps * schedule.intervalMs;
    }
    case "cron": {
      const c = new Cron(schedule.expr, {
        paused: true,
        ...(schedule.timezone ? { timezone: schedule.timezone } : {}),
      });
      const next = c.nextRun(new Date(after));
      return next ? next.getTime() : undefined;
    }
  }
}

/** Whether a schedule runs more than once. */
export function isRecurring(schedule: Schedule): boolean {
  return schedule.kind === "every" || schedule.kind === "cron";
}
