import { InvalidInputError, NotFoundError, PullkeeperError } from "@pullkeeper/core";
import { afterEach, describe, expect, it, vi } from "vitest";
import { MAX_TIMER_DELAY_MS, Scheduler } from "./scheduler.js";

/** A clock and timers that move only when told to. */
class FakeTime {
  now: number;
  readonly delays: number[] = [];
  #timers: { id: number; at: number; callback: () => void }[] = [];
  #nextId = 1;

  constructor(iso: string) {
    this.now = Date.parse(iso);
  }

  readonly clock = { now: () => new Date(this.now) };

  readonly setTimer = (callback: () => void, delayMs: number): unknown => {
    this.delays.push(delayMs);
    const id = this.#nextId++;
    this.#timers.push({ id, at: this.now + delayMs, callback });
    return id;
  };

  readonly clearTimer = (handle: unknown): void => {
    this.#timers = this.#timers.filter((t) => t.id !== handle);
  };

  get pendingTimers(): number {
    return this.#timers.length;
  }

  /** Moves the clock to `iso`, firing every timer due on the way, in order. */
  async advanceTo(iso: string): Promise<void> {
    const target = Date.parse(iso);
    for (;;) {
      const due = this.#timers.filter((t) => t.at <= target).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.#timers = this.#timers.filter((t) => t !== due);
      this.now = Math.max(this.now, due.at);
      due.callback();
      await settle();
    }
    this.now = target;
    await settle();
  }

  /** Fires the earliest timer with the clock wherever it is (a timer firing early or late). */
  async fireNext(): Promise<void> {
    const next = [...this.#timers].sort((a, b) => a.at - b.at)[0];
    if (!next) throw new Error("no timer pending");
    this.#timers = this.#timers.filter((t) => t !== next);
    next.callback();
    await settle();
  }
}

const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

function deferred(): { promise: Promise<void>; resolve: () => void; reject: (e: Error) => void } {
  let resolve!: () => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Adds `name`, every minute; each run (only the first, with `firstOnly`) waits for `gate`. `calls` counts the runs. */
function gatedJob(scheduler: Scheduler, name: string, options: { readonly firstOnly?: boolean } = {}) {
  const job = { gate: deferred(), calls: 0 };
  scheduler.add(name, "rate(1 minute)", async () => {
    job.calls++;
    if (!options.firstOnly || job.calls === 1) await job.gate.promise;
  });
  return job;
}

function setup(iso = "2024-02-10T10:02:00.000Z") {
  const time = new FakeTime(iso);
  const lines: string[] = [];
  const scheduler = new Scheduler({ clock: time.clock, log: (line) => lines.push(line), setTimer: time.setTimer, clearTimer: time.clearTimer });
  return { time, lines, scheduler };
}

describe("Scheduler", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("runs a rate() job on each tick, and nothing before start()", async () => {
    const { time, scheduler } = setup();
    const runs: string[] = [];
    scheduler.add("refresh", "rate(5 minutes)", async () => void runs.push(time.clock.now().toISOString()));
    await time.advanceTo("2024-02-10T10:06:00.000Z");
    expect(runs).toEqual([]);
    scheduler.start();
    expect(scheduler.nextRuns().get("refresh")?.toISOString()).toBe("2024-02-10T10:10:00.000Z");
    await time.advanceTo("2024-02-10T10:20:30.000Z");
    expect(runs).toEqual(["2024-02-10T10:10:00.000Z", "2024-02-10T10:15:00.000Z", "2024-02-10T10:20:00.000Z"]);
    await scheduler.stop();
  });

  it("runs a cron() job at its times, in UTC", async () => {
    const { time, scheduler } = setup();
    const runs: string[] = [];
    scheduler.add("noon", "cron(0 12 ? * MON-FRI *)", async () => void runs.push(time.clock.now().toISOString()));
    scheduler.start();
    await time.advanceTo("2024-02-14T00:00:00.000Z");
    expect(runs).toEqual(["2024-02-12T12:00:00.000Z", "2024-02-13T12:00:00.000Z"]);
    await scheduler.stop();
  });

  it("runAtStart runs the job once as soon as the scheduler starts, then on schedule", async () => {
    const { time, scheduler } = setup();
    const runs: string[] = [];
    scheduler.add("refresh", "rate(15 minutes)", async () => void runs.push(time.clock.now().toISOString()), { runAtStart: true });
    scheduler.start();
    await settle();
    expect(runs).toEqual(["2024-02-10T10:02:00.000Z"]);
    await time.advanceTo("2024-02-10T10:15:00.000Z");
    expect(runs).toEqual(["2024-02-10T10:02:00.000Z", "2024-02-10T10:15:00.000Z"]);
    await scheduler.stop();
  });

  it("never overlaps a job with itself: ticks during a run are skipped and logged", async () => {
    const { time, lines, scheduler } = setup();
    const slow = gatedJob(scheduler, "slow", { firstOnly: true });
    scheduler.start();
    await time.advanceTo("2024-02-10T10:05:30.000Z");
    expect(slow.calls).toBe(1);
    expect(scheduler.isRunning("slow")).toBe(true);
    expect(lines).toEqual([
      "scheduler: slow: skipping the 2024-02-10T10:04:00.000Z run, the previous run is still going",
      "scheduler: slow: skipping the 2024-02-10T10:05:00.000Z run, the previous run is still going",
    ]);
    slow.gate.resolve();
    await settle();
    expect(scheduler.isRunning("slow")).toBe(false);
    await time.advanceTo("2024-02-10T10:06:00.000Z");
    expect(slow.calls).toBe(2);
    await scheduler.stop();
  });

  it("logs a failing job on one line with the message only, and keeps its schedule", async () => {
    const { time, lines, scheduler } = setup();
    let calls = 0;
    scheduler.add("flaky", "rate(1 minute)", async () => {
      calls++;
      if (calls === 1) throw new Error("registry said 503\n  at some stack frame");
    });
    // A job that is not even async and throws synchronously must not wedge the schedule either.
    scheduler.add("sync", "rate(1 minute)", (() => {
      throw new Error("sync boom");
    }) as unknown as () => Promise<void>);
    scheduler.start();
    await time.advanceTo("2024-02-10T10:05:00.000Z");
    expect(calls).toBe(3);
    expect(lines.filter((l) => l.includes("flaky"))).toEqual(["scheduler: flaky failed: registry said 503 at some stack frame"]);
    expect(lines.filter((l) => l.includes("sync"))).toHaveLength(3);
    expect(lines.every((l) => !l.includes("\n"))).toBe(true);
    expect(lines.some((l) => l.includes("skipping"))).toBe(false);
    await scheduler.stop();
  });

  it("stop() waits for the run in flight, and nothing starts after it is called", async () => {
    const { time, lines, scheduler } = setup();
    const slow = gatedJob(scheduler, "slow");
    scheduler.add("other", "rate(1 minute)", async () => {});
    scheduler.start();
    await time.advanceTo("2024-02-10T10:03:00.000Z");
    expect(slow.calls).toBe(1);

    let stopped = false;
    const stopping = scheduler.stop().then(() => {
      stopped = true;
    });
    await settle();
    expect(stopped).toBe(false);
    expect(time.pendingTimers).toBe(0);
    expect(lines).toContain("scheduler: stopping, waiting for slow to finish");
    await expect(scheduler.runNow("other")).rejects.toMatchObject({ code: "scheduler_stopped" });
    await time.advanceTo("2024-02-10T10:10:00.000Z");
    expect(slow.calls).toBe(1);
    expect(stopped).toBe(false);

    slow.gate.resolve();
    await stopping;
    expect(stopped).toBe(true);
    expect(slow.calls).toBe(1);
    expect(() => scheduler.add("late", "rate(1 minute)", async () => {})).toThrow(PullkeeperError);
    expect(() => scheduler.start()).toThrow(/stopped/);
  });

  it("stop() with nothing running resolves at once and clears the timers", async () => {
    const { time, scheduler } = setup();
    scheduler.add("a", "rate(1 hour)", async () => {});
    scheduler.start();
    expect(time.pendingTimers).toBe(1);
    await scheduler.stop();
    expect(time.pendingTimers).toBe(0);
    expect(scheduler.nextRuns().get("a")).toBeUndefined();
  });

  it("runNow runs the job at once (even before start) and reports its failure", async () => {
    const { lines, scheduler } = setup();
    let calls = 0;
    scheduler.add("job", "rate(1 day)", async () => {
      calls++;
      if (calls === 2) throw new Error("second run broke");
    });
    await scheduler.runNow("job");
    expect(calls).toBe(1);
    await expect(scheduler.runNow("job")).rejects.toThrow("second run broke");
    expect(lines).toEqual(["scheduler: job failed: second run broke"]);
    await expect(scheduler.runNow("nope")).rejects.toBeInstanceOf(NotFoundError);
  });

  it("runNow joins the run in flight instead of starting a second one, and the tick meanwhile is skipped", async () => {
    const { time, lines, scheduler } = setup("2024-02-10T10:04:30.000Z");
    const job = gatedJob(scheduler, "job");
    scheduler.start();
    const first = scheduler.runNow("job");
    const second = scheduler.runNow("job");
    await time.advanceTo("2024-02-10T10:05:10.000Z");
    expect(job.calls).toBe(1);
    expect(lines).toEqual(["scheduler: job: skipping the 2024-02-10T10:05:00.000Z run, the previous run is still going"]);
    let settled = false;
    void Promise.all([first, second]).then(() => (settled = true));
    await settle();
    expect(settled).toBe(false);
    job.gate.resolve();
    await Promise.all([first, second]);
    expect(job.calls).toBe(1);
    await scheduler.stop();
  });

  it("waits longer than setTimeout allows by re-arming timers of at most 2^31-1 ms", async () => {
    const { time, scheduler } = setup("2024-02-10T10:00:00.000Z");
    const runs: string[] = [];
    scheduler.add("yearly", "cron(0 0 1 1 ? *)", async () => void runs.push(time.clock.now().toISOString()));
    scheduler.start();
    expect(time.delays).toEqual([MAX_TIMER_DELAY_MS]);
    await time.advanceTo("2024-12-31T23:59:00.000Z");
    expect(runs).toEqual([]);
    expect(time.delays.length).toBeGreaterThan(10); // 325 days / 24.8 days per timer
    expect(Math.max(...time.delays)).toBeLessThanOrEqual(MAX_TIMER_DELAY_MS);
    await time.advanceTo("2025-01-01T00:00:00.000Z");
    expect(runs).toEqual(["2025-01-01T00:00:00.000Z"]);
    await scheduler.stop();
  });

  it("a timer that fires before the tick is due re-arms instead of running", async () => {
    const { time, scheduler } = setup("2024-02-10T10:00:00.000Z");
    let calls = 0;
    scheduler.add("job", "rate(1 hour)", async () => void calls++);
    scheduler.start();
    time.now = Date.parse("2024-02-10T10:59:59.999Z");
    await time.fireNext();
    expect(calls).toBe(0);
    expect(time.delays).toEqual([3_600_000, 1]);
    await time.advanceTo("2024-02-10T11:00:00.000Z");
    expect(calls).toBe(1);
    await scheduler.stop();
  });

  it("does not catch up missed ticks: after a long pause it runs once and waits for the next future tick", async () => {
    const { time, scheduler } = setup("2024-02-10T10:00:00.000Z");
    let calls = 0;
    scheduler.add("job", "rate(5 minutes)", async () => void calls++);
    scheduler.start();
    time.now = Date.parse("2024-02-10T12:02:00.000Z"); // the machine slept through 24 ticks
    await time.fireNext();
    expect(calls).toBe(1);
    expect(scheduler.nextRuns().get("job")?.toISOString()).toBe("2024-02-10T12:05:00.000Z");
    await scheduler.stop();
  });

  it("refuses bad expressions and duplicate names when the job is added", () => {
    const { scheduler } = setup();
    expect(() => scheduler.add("a", "rate(1 minutes)", async () => {})).toThrow(InvalidInputError);
    expect(() => scheduler.add("a", "rate(1 minutes)", async () => {})).toThrow(/singular unit "minute"/);
    scheduler.add("a", "rate(1 minute)", async () => {});
    expect(() => scheduler.add("a", "rate(2 minutes)", async () => {})).toThrow(/already scheduled/);
  });

  it("a job added after start is armed at once", async () => {
    const { time, scheduler } = setup();
    scheduler.start();
    let calls = 0;
    scheduler.add("late", "rate(1 minute)", async () => void calls++);
    await time.advanceTo("2024-02-10T10:03:00.000Z");
    expect(calls).toBe(1);
    await scheduler.stop();
  });

  it("logs once and stops arming a cron whose last year has passed", async () => {
    const { time, lines, scheduler } = setup("2026-12-31T23:00:00.000Z");
    let calls = 0;
    scheduler.add("once", "cron(0 0 1 1 ? 2027)", async () => void calls++);
    scheduler.start();
    await time.advanceTo("2027-06-01T00:00:00.000Z");
    expect(calls).toBe(1);
    expect(time.pendingTimers).toBe(0);
    expect(lines).toEqual(["scheduler: once: no further runs: cron(0 0 1 1 ? 2027) has no occurrence after 2027-01-01T00:00:00.000Z"]);
    await scheduler.stop();
  });

  it("works with the default clock and setTimeout (vitest fake timers)", async () => {
    vi.useFakeTimers({ now: new Date("2024-02-10T10:07:00.000Z") });
    const scheduler = new Scheduler({ log: () => {} });
    const runs: string[] = [];
    scheduler.add("refresh", "cron(0/15 * * * ? *)", async () => void runs.push(new Date().toISOString()));
    scheduler.start();
    await vi.advanceTimersByTimeAsync(40 * 60_000);
    expect(runs).toEqual(["2024-02-10T10:15:00.000Z", "2024-02-10T10:30:00.000Z", "2024-02-10T10:45:00.000Z"]);
    await scheduler.stop();
    expect(vi.getTimerCount()).toBe(0);
  });
});
