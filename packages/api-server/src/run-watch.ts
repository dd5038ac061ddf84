import type { Logger, RunAnswer, RunTable } from "@switchboard/core";

export interface RunWatchHooks {
  /** The runs executing here and not over yet. */
  activeIds(): string[];
  /** A stop was asked on another replica. */
  stop(runId: string): void;
  /** A waiting tool call was answered on another replica. */
  answer(answer: RunAnswer): void;
}

/**
 * While runs execute here: notice the stops asked and the approvals answered for them on other replicas (a
 * poll every `pollMs`, and the store's notifications where it has them). Idle — no run executing — it stops
 * polling, so a process without runs pays nothing.
 */
export class RunWatch {
  readonly #table: RunTable;
  readonly #pollMs: () => number;
  readonly #hooks: RunWatchHooks;
  readonly #logger: Logger | undefined;
  #timer: NodeJS.Timeout | undefined;
  #unlisten: (() => void) | undefined;

  constructor(table: RunTable, pollMs: () => number, hooks: RunWatchHooks, logger?: Logger) {
    this.#table = table;
    this.#pollMs = pollMs;
    this.#hooks = hooks;
    this.#logger = logger;
  }

  /** Start polling (a run started here); a no-op while it polls. */
  start(): void {
    if (this.#timer) return;
    this.#timer = setTimeout(this.#tick, this.#pollMs()).unref();
    this.#unlisten ??= this.#table.listen?.((id) => {
      if (this.#hooks.activeIds().includes(id)) void this.#check([id]);
    });
  }

  close(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#unlisten?.();
    this.#unlisten = undefined;
  }

  readonly #tick = () => {
    const ids = this.#hooks.activeIds();
    if (ids.length === 0) {
      this.close();
      return;
    }
    void this.#check(ids).finally(() => {
      if (this.#timer) this.#timer = setTimeout(this.#tick, this.#pollMs()).unref();
    });
  };

  async #check(ids: string[]): Promise<void> {
    try {
      const [stops, answers] = await Promise.all([this.#table.stopRequested(ids), this.#table.answers(ids)]);
      for (const id of stops) this.#hooks.stop(id);
      for (const a of answers) {
        await this.#table.takeAnswer(a.runId, a.approvalId);
        this.#hooks.answer(a);
      }
    } catch (err) {
      this.#logger?.warn({ err }, "api: cannot read the stops and answers asked for this replica's runs");
    }
  }
}
