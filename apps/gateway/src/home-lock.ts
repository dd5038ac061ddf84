import { readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";

export const LOCK_FILE = "gateway.lock";

/** Thrown when another live gateway holds the home. */
export class HomeLockedError extends Error {
  override name = "HomeLockedError";
}

export interface HomeLock {
  readonly file: string;
  release(): void;
}

interface LockInfo {
  pid: number;
  host: string;
  startedAt: string;
}

/** Whether a process with this id runs on this host (one of another user counts). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

function readLock(file: string): LockInfo | undefined {
  try {
    const v = JSON.parse(readFileSync(file, "utf8")) as Partial<LockInfo>;
    return typeof v.pid === "number" ? (v as LockInfo) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Claim the root home for this gateway: `<home>/gateway.lock` holds our pid. Two gateways on one SQLite home
 * would share `state.db` and every agent's files; the second refuses to start. A lock left by a process that
 * is gone (a crash, `kill -9`) is taken over. Released on `release()` or when the process exits.
 */
export function acquireHomeLock(home: string): HomeLock {
  const file = join(home, LOCK_FILE);
  const mine: LockInfo = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString() };
  const text = `${JSON.stringify(mine)}\n`;
  for (let attempt = 0; ; attempt++) {
    try {
      writeFileSync(file, text, { flag: "wx", mode: 0o644 });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const held = readLock(file);
      const live = held && (held.host !== mine.host || alive(held.pid));
      if (live || attempt > 0) {
        const who = held
          ? `pid ${held.pid}${held.host !== mine.host ? ` on ${held.host}` : ""}, since ${held.startedAt}`
          : "unknown";
        throw new HomeLockedError(
          `another gateway (${who}) is already running on ${home}: stop it first, or give this one its own --home. If none is running, delete ${file}`,
        );
      }
      // Stale: its process is gone. Remove it and try once more; `wx` decides a race between two starters.
      try {
        unlinkSync(file);
      } catch {
        // another starter removed it first
      }
    }
  }
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    process.off("exit", release);
    if (readLock(file)?.pid === mine.pid && readLock(file)?.startedAt === mine.startedAt) {
      try {
        unlinkSync(file);
      } catch {
        // already gone
      }
    }
  };
  process.on("exit", release);
  return { file, release };
}
