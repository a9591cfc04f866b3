import { ScanCommand } from "@aws-sdk/client-dynamodb";
import { DeliveryError, InvalidInputError } from "@pullkeeper/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DynamoRateLimiter, type DynamoRateLimiterOptions, measureRate } from "../../packages/aws/src/dynamo-rate-limiter.js";
import { type EmbeddedDynamo, startDynalite } from "../support/dynalite.js";

/*
 * Timing tests: they assert the property that matters (never much FASTER than the limit) with
 * generous slack the other way, and log the figures measured.
 */

let dynamo: EmbeddedDynamo;
beforeAll(async () => {
  dynamo = await startDynalite();
});
afterAll(() => dynamo.stop());

/** A worker of its own, as a separate Lambda would be: its own DynamoDB client and limiter. */
function worker(tableName: string, limits: DynamoRateLimiterOptions["limits"], extra: Partial<DynamoRateLimiterOptions> = {}) {
  return new DynamoRateLimiter({ client: dynamo.newClient(), tableName, limits, ...extra });
}

/** Grants a stalled test process may squeeze into a window when it timestamps them late. */
const MEASUREMENT_SLACK = 3;

/**
 * The most grants seen beyond what the limit allows since `started` (before the first acquire):
 * by time t, at most burst + (t - started) · perSecond. 0 or less when the limit held.
 */
function overshoot(grants: readonly number[], started: number, perSecond: number, burst: number): number {
  const sorted = [...grants].sort((a, b) => a - b);
  return Math.max(...sorted.map((t, i) => i + 1 - (burst + ((t - started) * perSecond) / 1000)));
}

const FIVE_WORKERS_LIMIT = { perSecond: 100, burst: 10 };

/**
 * Five workers on one table limited to FIVE_WORKERS_LIMIT, each running `lanes` concurrent lanes
 * of `perLane` acquires: when each was granted, when the run started and how long it took.
 */
async function fiveWorkers(lanes: number, perLane: number) {
  const table = await dynamo.createLedgerTable();
  const workers = Array.from({ length: 5 }, () => worker(table, { codebuild: FIVE_WORKERS_LIMIT }));
  const grants: number[] = [];
  const started = Date.now();
  await Promise.all(
    workers.flatMap((w) =>
      Array.from({ length: lanes }, async () => {
        for (let i = 0; i < perLane; i++) {
          await w.acquire("codebuild");
          grants.push(Date.now());
        }
      }),
    ),
  );
  const elapsed = Date.now() - started;
  return { grants, started, elapsed, ...measureRate(grants) };
}

async function items(tableName: string) {
  const out = await dynamo.client.send(new ScanCommand({ TableName: tableName, ConsistentRead: true }));
  return (out.Items ?? []).map((i) => `${i.pk?.S}/${i.sk?.S}`).sort();
}

describe("DynamoRateLimiter on an embedded DynamoDB (dynalite)", () => {
  it("one worker at 50/s: 100 acquires are not faster than the limit allows after the burst", async () => {
    const table = await dynamo.createLedgerTable();
    const limiter = worker(table, { github: { perSecond: 50 } }); // burst defaults to 50
    const started = Date.now();
    const grants: number[] = [];
    for (let i = 0; i < 100; i++) {
      await limiter.acquire("github");
      grants.push(Date.now());
    }
    const elapsed = Date.now() - started;
    const { maxInWindow } = measureRate(grants);
    console.log(
      `single worker, 50/s burst 50: 100 grants in ${elapsed} ms = ${((100 - 50) / (elapsed / 1000)).toFixed(1)}/s beyond the burst; max in a 1 s window ${maxInWindow} (bound 100)`,
    );
    // 50 at once, then one every 20 ms: the 100th not before ≈ 1,000 ms (-2 % for timers).
    expect(elapsed).toBeGreaterThanOrEqual(980);
    expect(overshoot(grants, started, 50, 50)).toBeLessThanOrEqual(1);
    expect(maxInWindow).toBeLessThanOrEqual(50 + 50 + MEASUREMENT_SLACK);
    // …and not absurdly slow either (generous: five times the expected second).
    expect(elapsed).toBeLessThan(5_000);
  });

  it("holds the rate ACROSS five workers with their own clients: 5 × 40 acquires at 100/s", async () => {
    const limit = FIVE_WORKERS_LIMIT;
    const { grants, started, elapsed, maxInWindow, count } = await fiveWorkers(1, 40);
    console.log(
      `5 workers, 100/s burst 10: ${count} grants in ${elapsed} ms = ${((count - limit.burst) / (elapsed / 1000)).toFixed(1)}/s beyond the burst; max in a 1 s window ${maxInWindow} (bound ${limit.perSecond + limit.burst})`,
    );
    expect(count).toBe(200);
    // GCRA allows limit + burst in a closed 1 s window; the slack covers only this test
    // process stalling while timestamping (a broken limiter lets ~200 through here).
    expect(maxInWindow).toBeLessThanOrEqual(limit.perSecond + limit.burst + MEASUREMENT_SLACK);
    expect(overshoot(grants, started, limit.perSecond, limit.burst)).toBeLessThanOrEqual(1);
    // 190 after the burst, 10 ms apart: ≥ 1,900 ms whatever the number of workers (-2 %).
    expect(elapsed).toBeGreaterThanOrEqual(1_860);
    expect(elapsed).toBeLessThan(20_000);
  });

  it("holds the rate with many concurrent acquires per worker too: 5 workers × 8 lanes × 10 at 100/s", async () => {
    const limit = FIVE_WORKERS_LIMIT;
    const { grants, started, elapsed, maxInWindow, count } = await fiveWorkers(8, 10);
    const over = overshoot(grants, started, limit.perSecond, limit.burst);
    console.log(
      `5 workers × 8 lanes, 100/s burst 10: ${count} grants in ${elapsed} ms = ${((count - limit.burst) / (elapsed / 1000)).toFixed(1)}/s beyond the burst; max in a 1 s window ${maxInWindow}; overshoot ${over.toFixed(2)}`,
    );
    expect(count).toBe(400);
    // Cumulative: by any time t, at most burst + rate · (t - start). Late timestamps only help.
    expect(over).toBeLessThanOrEqual(1);
    // Per window: 40 acquires at once make the embedded DynamoDB answer in up to ~80 ms, which
    // can hand the burst out late and squeeze it towards the next grants (111-121 measured);
    // a limiter that did not share its bucket would let ~400 through.
    expect(maxInWindow).toBeLessThanOrEqual(limit.perSecond + limit.burst + 40);
    expect(elapsed).toBeGreaterThanOrEqual(3_800);
  });

  it("pause(): no worker gets a token before the pause ends, even with tokens in the bucket", async () => {
    const table = await dynamo.createLedgerTable();
    const limits = { gitpod: { perSecond: 100 } };
    const [a, b, c] = [worker(table, limits), worker(table, limits), worker(table, limits)];
    const until = Date.now() + 500;
    await a.pause("gitpod", until);
    await a.pause("gitpod", until - 300); // an earlier "not before" does not shorten it
    const grants = await Promise.all(
      [a, b, c, a, b, c].map(async (w) => {
        await w.acquire("gitpod");
        return Date.now();
      }),
    );
    console.log(`pause 500 ms: grants at +${grants.map((g) => g - (until - 500)).join(", +")} ms`);
    for (const g of grants) expect(g).toBeGreaterThanOrEqual(until);
    expect(Math.max(...grants)).toBeLessThan(until + 5_000);
  });

  it("pause() from another worker also holds back slots already reserved", async () => {
    const table = await dynamo.createLedgerTable();
    const limits = { github: { perSecond: 20, burst: 1 } };
    const [a, b] = [worker(table, limits), worker(table, limits)];
    const grants: number[] = [];
    const lane = async () => {
      for (let i = 0; i < 6; i++) {
        await a.acquire("github");
        grants.push(Date.now());
      }
    };
    // Six lanes queue ahead: at any time five slots are reserved, 50 to 250 ms away.
    const lanes = Promise.all(Array.from({ length: 6 }, lane));
    await new Promise((r) => setTimeout(r, 300));
    const until = Date.now() + 400;
    await b.pause("github", until);
    const pausedAt = Date.now(); // pause() has returned: from here on nobody may write
    await lanes;
    const during = grants.filter((g) => g >= pausedAt && g < until);
    console.log(`pause mid-stream: ${grants.length} grants, ${during.length} during the pause [+0, +${until - pausedAt} ms)`);
    expect(during).toEqual([]);
    expect(grants.filter((g) => g >= until).length).toBeGreaterThan(0);
  });

  it("an unlimited provider returns at once and writes nothing, but honours a pause", async () => {
    const table = await dynamo.createLedgerTable();
    const limiter = worker(table, (provider) => (provider === "github" ? { perSecond: 1 } : undefined));
    const started = Date.now();
    for (let i = 0; i < 50; i++) await limiter.acquire("aws:codebuild:eu-west-1");
    const elapsed = Date.now() - started;
    console.log(`unlimited: 50 acquires in ${elapsed} ms`);
    expect(elapsed).toBeLessThan(2_000); // at most one read each (a fresh one is shared), no waiting
    expect(await items(table)).toEqual([]);

    const until = Date.now() + 300;
    await limiter.pause("aws:codebuild:eu-west-1", until);
    await limiter.acquire("aws:codebuild:eu-west-1");
    expect(Date.now()).toBeGreaterThanOrEqual(until);
  });

  it("does not wait for a slot beyond maxWaitMs: rejects at once with a deferred 'not before', which is no failure", async () => {
    const table = await dynamo.createLedgerTable();
    const limiter = worker(table, { github: { perSecond: 1, burst: 1 } }, { maxWaitMs: 200 });
    await limiter.acquire("github");
    const started = Date.now();
    const error = await limiter.acquire("github").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeliveryError);
    expect(error).toMatchObject({ code: "throttled", retryable: true, deferred: true });
    expect((error as DeliveryError).retryAfterMs).toBeGreaterThan(200);
    expect((error as DeliveryError).retryAfterMs).toBeLessThanOrEqual(1_000);
    expect(Date.now() - started).toBeLessThan(1_000);

    // A pause longer than maxWaitMs: "paused until T" for every worker, with the wait as retryAfterMs.
    const other = worker(table, { gitpod: { perSecond: 100 } }, { maxWaitMs: 100 });
    const until = Date.now() + 10_000;
    await other.pause("gitpod", until);
    for (const w of [limiter, other]) {
      const paused = (await w.acquire("gitpod").catch((e: unknown) => e)) as DeliveryError;
      expect(paused).toMatchObject({ code: "paused", retryable: true, deferred: true });
      expect(paused.retryAfterMs).toBeGreaterThan(9_000);
      expect(paused.retryAfterMs).toBeLessThanOrEqual(10_000);
    }
  });

  it("acquire({ writes }) takes several writes at once: they go out together, and the budget counts each", async () => {
    const table = await dynamo.createLedgerTable();
    const limiter = worker(table, { github: { perSecond: 10, burst: 1 } });
    const grants: number[] = [];
    const started = Date.now();
    for (let i = 0; i < 4; i++) {
      await limiter.acquire("github", { writes: 3 });
      grants.push(Date.now());
    }
    console.log(`writes: 3 at 10/s: grants at +${grants.map((g) => g - started).join(", +")} ms`);
    // 4 × 3 writes at 10/s: the 4th group's slot is 9 writes (900 ms) after the first (-2 % for timers).
    expect((grants[3] ?? 0) - started).toBeGreaterThanOrEqual(880);
    await expect(limiter.acquire("github", { writes: 0 })).rejects.toBeInstanceOf(InvalidInputError);
  });

  it("pausedUntil(): the gate between writes sees another worker's pause, its own at once, and nothing when there is none", async () => {
    const table = await dynamo.createLedgerTable();
    const limits = { github: { perSecond: 100 } };
    const [a, b] = [worker(table, limits), worker(table, limits)];
    expect(await a.pausedUntil("github")).toBeUndefined();
    const until = Date.now() + 5_000;
    // b's own gate closes before its table write has even returned.
    const pausing = b.pause("github", until);
    expect(await b.pausedUntil("github")).toBe(until);
    await pausing;
    // Once pause() has returned, a's next look (its last one is older than the grace) sees it.
    await new Promise((r) => setTimeout(r, 60));
    expect(await a.pausedUntil("github")).toBe(until);
    expect(await a.pausedUntil("gitpod")).toBeUndefined();
  });

  it("keeps one bucket per provider", async () => {
    const table = await dynamo.createLedgerTable();
    const limits = { github: { perSecond: 1, burst: 1 }, gitpod: { perSecond: 1, burst: 2 } };
    const limiter = worker(table, limits, { maxWaitMs: 0 });
    await limiter.acquire("github");
    await expect(limiter.acquire("github")).rejects.toMatchObject({ code: "throttled" });
    const started = Date.now();
    await limiter.acquire("gitpod"); // its own, still full bucket
    await limiter.pause("github", Date.now() + 10_000);
    await limiter.acquire("gitpod"); // a pause of github does not hold gitpod back
    expect(Date.now() - started).toBeLessThan(500);
    await expect(limiter.acquire("gitpod")).rejects.toMatchObject({ code: "throttled" }); // now spent
    expect(await items(table)).toEqual(["RATE#github/BUCKET", "RATE#gitpod/BUCKET"]);
  });

  it("rejects a limit that cannot be honoured", async () => {
    const table = await dynamo.createLedgerTable();
    const limiter = worker(table, { zero: { perSecond: 0 }, tiny: { perSecond: 5, burst: 0.5 } });
    await expect(limiter.acquire("zero")).rejects.toBeInstanceOf(InvalidInputError);
    await expect(limiter.acquire("tiny")).rejects.toBeInstanceOf(InvalidInputError);
  });
});

describe("measureRate", () => {
  it("counts the most grants in any half-open window", () => {
    expect(measureRate([])).toEqual({ maxInWindow: 0, count: 0, spanMs: 0 });
    expect(measureRate([0, 999, 1000, 1500, 1999, 2000], 1000)).toEqual({ maxInWindow: 3, count: 6, spanMs: 2000 });
    expect(measureRate([5, 1, 3], 10).maxInWindow).toBe(3);
  });
});
