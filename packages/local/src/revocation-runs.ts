/**
 * Revocation checks, run through the revoke function's handler as its schedule calls it on AWS.
 * Checks asked for while one runs coalesce into one more run after it; `soon()` (after deliveries
 * and scans) runs one shortly, once, rather than once per delivery.
 */
export class RevocationRuns {
  readonly #run: () => Promise<unknown>;
  readonly #anyRotated: () => boolean;
  readonly #log: (line: string) => void;
  readonly #timers = new Set<ReturnType<typeof setTimeout>>();
  #running: Promise<void> | undefined;
  #again = false;

  constructor(options: { run: () => Promise<unknown>; anyRotated: () => boolean; log: (line: string) => void }) {
    this.#run = options.run;
    this.#anyRotated = options.anyRotated;
    this.#log = options.log;
  }

  readonly now = async (): Promise<void> => {
    if (this.#running) {
      this.#again = true;
      return this.#running;
    }
    this.#running = (async () => {
      do {
        this.#again = false;
        await this.#run().catch((e: unknown) => this.#log(`revocation check: ${(e as Error).message}`));
      } while (this.#again);
    })().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  };

  readonly soon = (): void => {
    if (!this.#anyRotated() || this.#timers.size > 0) return;
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      void this.now();
    }, 250);
    this.#timers.add(timer);
  };

  /** No run starts after this; the one under way finishes. */
  async stop(): Promise<void> {
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    await this.#running;
  }
}
