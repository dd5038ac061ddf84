import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { AdapterStateStore } from "@switchboard/core";
import { z } from "zod";

const offsetFileSchema = z.object({ update_id: z.number().int().nonnegative() });

/**
 * The last update this bot account handed to core, kept in a small file under the gateway's state
 * dir. Telegram itself only learns that an update is confirmed on the next `getUpdates`, so after a
 * crash between dispatch and that call the file is what stops the update being handled twice.
 * Keyed by bot id, not account name: offsets belong to the token's bot.
 */
export interface UpdateOffsets {
  /** The last confirmed `update_id`, or `undefined` when none was recorded. */
  load(): Promise<number | undefined>;
  /** Record `updateId` as handled. */
  save(updateId: number): Promise<void>;
}

export class OffsetStore implements UpdateOffsets {
  readonly file: string;

  constructor(stateDir: string, botId: string) {
    this.file = join(stateDir, `telegram-${botId}.offset.json`);
  }

  /** The last confirmed `update_id`, or `undefined` when none was recorded (or the file is unreadable). */
  async load(): Promise<number | undefined> {
    let raw: string;
    try {
      raw = await readFile(this.file, "utf8");
    } catch {
      return undefined;
    }
    try {
      const parsed = offsetFileSchema.safeParse(JSON.parse(raw));
      return parsed.success ? parsed.data.update_id : undefined;
    } catch {
      return undefined;
    }
  }

  /** Record `updateId` as handled; written to a temp file and renamed, so a crash never leaves half a file. */
  async save(updateId: number): Promise<void> {
    await mkdir(join(this.file, ".."), { recursive: true, mode: 0o700 });
    const tmp = `${this.file}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify({ update_id: updateId }), { mode: 0o600 });
    await rename(tmp, this.file);
  }
}

/**
 * The same offset in the gateway's shared store (replicas on one database): the replica that takes the
 * account over resumes from the last update any replica handed to core.
 */
export class SharedOffsetStore implements UpdateOffsets {
  readonly key: string;
  readonly #state: AdapterStateStore;

  constructor(state: AdapterStateStore, botId: string) {
    this.#state = state;
    this.key = `telegram:${botId}:offset`;
  }

  async load(): Promise<number | undefined> {
    const raw = await this.#state.get(this.key);
    const n = raw === undefined ? Number.NaN : Number(raw);
    return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
  }

  async save(updateId: number): Promise<void> {
    await this.#state.set(this.key, String(updateId));
  }
}
