import { type FSWatcher, mkdirSync, watch } from "node:fs";
import { JOBS_FILE } from "./jobs.ts";

/**
 * Watches each agent's `cron/` folder for a new or replaced `jobs.json` (the CLI, another gateway, an
 * editor), and calls `onChange` once per burst of events. The folder is watched rather than the file:
 * writes replace the file by rename, which a watch on the file itself would lose.
 */
export class CronDirWatcher {
  readonly #watchers = new Map<string, FSWatcher>();
  readonly #onChange: () => void;
  readonly #debounceMs: number;
  readonly #onError: (dir: string, err: unknown) => void;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: {
    onChange: () => void;
    debounceMs?: number;
    onError?: (dir: string, err: unknown) => void;
  }) {
    this.#onChange = options.onChange;
    this.#debounceMs = options.debounceMs ?? 100;
    this.#onError = options.onError ?? (() => {});
  }

  /** Watch exactly these folders (creating them), closing the watches of folders no longer listed. */
  sync(dirs: Iterable<string>): void {
    const wanted = new Set(dirs);
    for (const [dir, w] of this.#watchers) {
      if (!wanted.has(dir)) {
        w.close();
        this.#watchers.delete(dir);
      }
    }
    for (const dir of wanted) {
      if (this.#watchers.has(dir)) continue;
      try {
        mkdirSync(dir, { recursive: true, mode: 0o700 });
        const w = watch(dir, (_event, name) => {
          if (name === null || name === JOBS_FILE) this.#kick();
        });
        w.on("error", (err) => {
          w.close();
          this.#watchers.delete(dir);
          this.#onError(dir, err);
        });
        w.unref();
        this.#watchers.set(dir, w);
      } catch (err) {
        this.#onError(dir, err);
      }
    }
  }

  #kick(): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#onChange(), this.#debounceMs);
    this.#timer.unref?.();
  }

  close(): void {
    clearTimeout(this.#timer);
    for (const w of this.#watchers.values()) w.close();
    this.#watchers.clear();
  }
}
