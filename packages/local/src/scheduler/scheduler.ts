import { type Clock, InvalidInputError, NotFoundError, PullkeeperError, systemClock } from "@pullkeeper/core";
import { parseSchedule, type Schedule } from "@pullkeeper/core";

/**
 * Runs jobs on EventBridge schedule expressions inside one process: the embedded runtime's
 * stand-in for EventBridge Scheduler. Times come from `clock`, waiting from `setTimer`.
 *
 * - A job never overlaps itself: a tick that comes while the previous run is still going is
 *   skipped (and logged), never queued.
 * - Missed ticks (a suspended laptop, a run longer than the period) are not caught up: after a
 *   tick the next one is the first occurrence after "now".
 * - A job that throws is logged on one line (the error message only) and keeps its schedule.
 * - `stop()` is graceful: nothing starts after it is called, and it resolves once the runs in
 *   flight have finished.
 */
export interface SchedulerOptions {
  readonly clock?: Clock;
  /** One line per event worth a human's eye (skips, failures, stop). Default: stderr. */
  readonly log?: (line: string) => void;
  /** Default: setTimeout. Called with delays of at most MAX_TIMER_DELAY_MS. */
  readonly setTimer?: (callback: () => void, delayMs: number) => unknown;
  /** Default: clearTimeout. */
  readonly clearTimer?: (handle: unknown) => void;
}

export interface AddJobOptions {
  /** Also run once as soon as the scheduler starts (or at once, if it already has). */
  readonly runAtStart?: boolean;
}

export type Job = () => Promise<void>;

/**
 * Node's setTimeout fires at once for delays above 2^31-1 ms (~24.8 days); longer waits are
 * split into timers of at most this long and re-armed until the tick is due.
 */
export const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

type Outcome = { readonly ok: true } | { readonly ok: false; readonly error: unknown };

interface Entry {
  readonly name: string;
  readonly schedule: Schedule;
  readonly job: Job;
  readonly runAtStart: boolean;
  /** The next scheduled tick; undefined when the schedule has none left or is not armed. */
  due: Date | undefined;
  timer: unknown;
  running: Promise<Outcome> | undefined;
}

export class Scheduler {
  readonly #clock: Clock;
  readonly #log: (line: string) => void;
  readonly #setTimer: (callback: () => void, delayMs: number) => unknown;
  readonly #clearTimer: (handle: unknown) => void;
  readonly #entries = new Map<string, Entry>();
  readonly #inFlight = new Set<Promise<Outcome>>();
  #started = false;
  #stopped = false;

  constructor(options: SchedulerOptions = {}) {
    this.#clock = options.clock ?? systemClock;
    this.#log = options.log ?? ((line) => void process.stderr.write(`${line}\n`));
    this.#setTimer = options.setTimer ?? ((callback, delayMs) => setTimeout(callback, delayMs));
    this.#clearTimer = options.clearTimer ?? ((handle) => clearTimeout(handle as ReturnType<typeof setTimeout>));
  }

  /** Registers a job; throws InvalidInputError for a bad expression or a name already taken. */
  add(name: string, expression: string, job: Job, options: AddJobOptions = {}): void {
    if (this.#stopped) throw new PullkeeperError("scheduler_stopped", `the scheduler is stopped: cannot add job "${name}"`);
    if (this.#entries.has(name)) throw new InvalidInputError(`a job named "${name}" is already scheduled`);
    if (typeof job !== "function") throw new InvalidInputError(`job "${name}" must be a function`);
    const schedule = parseSchedule(expression);
    const entry: Entry = { name, schedule, job, runAtStart: options.runAtStart ?? false, due: undefined, timer: undefined, running: undefined };
    this.#entries.set(name, entry);
    if (this.#started) this.#begin(entry);
  }

  /** Arms every job (and runs the runAtStart ones). Calling it again does nothing. */
  start(): void {
    if (this.#stopped) throw new PullkeeperError("scheduler_stopped", "the scheduler is stopped and cannot be started again");
    if (this.#started) return;
    this.#started = true;
    for (const entry of this.#entries.values()) this.#begin(entry);
  }

  /** No run starts after this is called; resolves when the runs in flight have finished. */
  async stop(): Promise<void> {
    if (!this.#stopped) {
      this.#stopped = true;
      for (const entry of this.#entries.values()) this.#disarm(entry);
      const running = [...this.#entries.values()].filter((e) => e.running).map((e) => e.name);
      if (running.length > 0) this.#say(`scheduler: stopping, waiting for ${running.join(", ")} to finish`);
    }
    await Promise.all([...this.#inFlight]);
  }

  /**
   * Runs a job now, outside its schedule, and resolves when that run ends; rejects with the
   * job's error if it fails (the failure is logged too). If the job is already running, waits
   * for that run instead of starting a second one. Works before start(); after stop() it only
   * joins a run already in flight.
   */
  async runNow(name: string): Promise<void> {
    const entry = this.#entries.get(name);
    if (!entry) throw new NotFoundError(`scheduled job "${name}"`);
    let run = entry.running;
    if (!run) {
      if (this.#stopped) throw new PullkeeperError("scheduler_stopped", `the scheduler is stopped: not starting job "${name}"`);
      run = this.#run(entry);
    }
    const outcome = await run;
    if (!outcome.ok) throw outcome.error;
  }

  /** The next scheduled tick of each job (undefined: not started, stopped or no occurrence left). */
  nextRuns(): ReadonlyMap<string, Date | undefined> {
    return new Map([...this.#entries.values()].map((e) => [e.name, e.due]));
  }

  /** Whether the job is running right now. */
  isRunning(name: string): boolean {
    return this.#entries.get(name)?.running !== undefined;
  }

  /** Logs, never throwing: a broken log sink must not stop a schedule. */
  #say(line: string): void {
    try {
      this.#log(line);
    } catch {
      // nothing better to do with it
    }
  }

  #begin(entry: Entry): void {
    this.#arm(entry, this.#clock.now());
    if (entry.runAtStart && !entry.running) void this.#run(entry);
  }

  /** Computes the first tick after `from` and waits for it. */
  #arm(entry: Entry, from: Date): void {
    try {
      entry.due = entry.schedule.next(from);
    } catch (error) {
      entry.due = undefined;
      this.#say(`scheduler: ${entry.name}: no further runs: ${oneLine(error)}`);
      return;
    }
    this.#wait(entry);
  }

  #wait(entry: Entry): void {
    if (entry.due === undefined) return;
    const delay = Math.min(Math.max(0, entry.due.getTime() - this.#clock.now().getTime()), MAX_TIMER_DELAY_MS);
    entry.timer = this.#setTimer(() => this.#onTimer(entry), delay);
  }

  #disarm(entry: Entry): void {
    if (entry.timer !== undefined) this.#clearTimer(entry.timer);
    entry.timer = undefined;
    entry.due = undefined;
  }

  #onTimer(entry: Entry): void {
    entry.timer = undefined;
    const due = entry.due;
    if (this.#stopped || due === undefined) return;
    const now = this.#clock.now();
    if (now.getTime() < due.getTime()) {
      // A chunk of a long wait, or a timer that fired a little early against the clock.
      this.#wait(entry);
      return;
    }
    if (entry.running) this.#say(`scheduler: ${entry.name}: skipping the ${due.toISOString()} run, the previous run is still going`);
    else void this.#run(entry);
    this.#arm(entry, now);
  }

  /** Starts a run; the promise never rejects (it resolves with the outcome). */
  #run(entry: Entry): Promise<Outcome> {
    const run = (async (): Promise<Outcome> => {
      try {
        await entry.job();
        return { ok: true };
      } catch (error) {
        this.#say(`scheduler: ${entry.name} failed: ${oneLine(error)}`);
        return { ok: false, error };
      }
    })();
    entry.running = run;
    this.#inFlight.add(run);
    void run.then(() => {
      if (entry.running === run) entry.running = undefined;
      this.#inFlight.delete(run);
    });
    return run;
  }
}

function oneLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/\s*\n\s*/g, " ").trim() || (error instanceof Error ? error.name : "unknown error");
}
