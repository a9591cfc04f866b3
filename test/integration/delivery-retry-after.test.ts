import { DynamoLedger, DynamoRateLimiter } from "@pullkeeper/aws";
import {
  type Consumer,
  type ConsumerDelivery,
  credential,
  type DeliveryRequest,
  PropagationService,
  type PullkeeperEvent,
  type RateLimiter,
  type Registry,
  type StoredCredential,
  type Vault,
} from "@pullkeeper/core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { LocalDeliveryQueue } from "../../packages/local/src/queue/local-delivery-queue.js";
import { githubTargets } from "../../packages/targets/src/github/index.js";
import { type EmbeddedDynamo, startDynalite } from "../support/dynalite.js";
import { FakeGitHub } from "../support/fake-github.js";

/**
 * Issue 11, defects 1 and 2, against the GitHub stand-in with the real DynamoDB emulator: several
 * workers (each with its own DynamoDB client, rate limiter and GitHub client, as separate Lambdas
 * are) deliver Codespaces secrets from one queue while GitHub answers 429 with a Retry-After.
 *
 * 1. A Retry-After — also one longer than the limiter's maxWaitMs, and several in a row — never
 *    turns a GitHub consumer `failed`: every one ends delivered, holding the current value.
 * 2. A pause stops every write at once: no worker starts a PUT inside the window, including the
 *    remaining writes of deliveries already in flight. Checked causally, in the order things
 *    happen where the requests are sent (the clients' fetch), not by timing: the worker that got
 *    the 429 sends nothing from the moment it learned of it (its pause call) to the pause's end,
 *    and no worker sends anything from when the pause was in place (pause() returned) to its end.
 *    A PUT already on the wire when GitHub answered 429 cannot be recalled; none is sent after.
 */

const TOKEN = "ghp_FAKEfakeFAKEfake0123456789abcdefABCD";
const PASSWORD = "dckr_pat_S3cr3t-v4lue-nobody-may-see_42";
const TOKEN_SECRET = "pullkeeper/github-token";
const CREATED = new Date("2026-11-23T12:00:00Z");
const registry: Registry = { id: "acme", host: "registry.example.com", kind: "generic", source: { type: "managed-secret" }, secret: "pullkeeper/acme", verify: {} };
const ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:pullkeeper/acme-AbCdEf";

let dynamo: EmbeddedDynamo;
let github: FakeGitHub;
const queues: LocalDeliveryQueue[] = [];

beforeAll(async () => {
  dynamo = await startDynalite();
});
afterAll(() => dynamo.stop());
afterEach(async () => {
  for (const q of queues.splice(0)) await q.stop();
  await github?.close();
});

const vault = {
  read: async (id: string): Promise<StoredCredential> => {
    if (id === TOKEN_SECRET) return { arn: "arn:token", versionId: "t1", stages: ["AWSCURRENT"], createdAt: CREATED, credential: credential("x-access-token", TOKEN) };
    return { arn: ARN, versionId: "v1", stages: ["AWSCURRENT"], createdAt: CREATED, credential: credential("acme-bot", PASSWORD) };
  },
} as unknown as Vault;

/** Orders events across workers exactly (Date.now() has millisecond ties). */
let seq = 0;

interface Sent {
  readonly worker: number;
  readonly path: string;
  readonly seq: number;
  readonly at: number;
}

/** N workers sharing one table and one queue; what each sends and when each learns of a 429 or finishes a pause. */
async function workers(options: { count: number; maxWaitMs?: number; consumers: number; perSecond: number; burst?: number }) {
  const table = await dynamo.createLedgerTable();
  const consumers: Consumer[] = Array.from({ length: options.consumers }, (_, i) => ({
    id: `space-${i}`,
    registryId: "acme",
    target: { kind: "codespaces-secret", tokenSecret: TOKEN_SECRET, baseUrl: github.url, prefix: "ACME", scope: "repository", repository: `acme/app-${i}` },
  }));
  const sent: Sent[] = [];
  const got429: { worker: number; at: number }[] = [];
  const paused: { worker: number; until: number; calledSeq: number; returnedSeq: number; returnedAt: number }[] = [];
  const events: PullkeeperEvent[] = [];
  const services: PropagationService[] = [];
  let turn = 0;
  const queue = new LocalDeliveryQueue({
    concurrency: 8,
    maxAttempts: 5,
    baseBackoffMs: 50,
    // Each message goes to the next worker, as SQS hands messages to whichever Lambda polls.
    handle: async (request: DeliveryRequest, attempt) => void (await services[turn++ % services.length]?.deliver(request, attempt as never)),
  });
  queues.push(queue);
  for (let worker = 0; worker < options.count; worker++) {
    const client = dynamo.newClient();
    const limiter = new DynamoRateLimiter({ client, tableName: table, limits: (p) => (p.startsWith("github") ? { perSecond: options.perSecond, ...(options.burst !== undefined && { burst: options.burst }) } : undefined), ...(options.maxWaitMs !== undefined && { maxWaitMs: options.maxWaitMs }) });
    const rateLimiter: RateLimiter = {
      acquire: (p, o) => limiter.acquire(p, o),
      pausedUntil: (p) => limiter.pausedUntil(p),
      pause: async (p, until) => {
        const calledSeq = ++seq;
        await limiter.pause(p, until);
        paused.push({ worker, until, calledSeq, returnedSeq: ++seq, returnedAt: Date.now() });
      },
    };
    const recordingFetch: typeof fetch = async (input, init) => {
      const url = new URL(String(input));
      if (init?.method === "PUT") sent.push({ worker, path: url.pathname, seq: ++seq, at: Date.now() });
      const response = await fetch(input, init);
      if (response.status === 429) got429.push({ worker, at: Date.now() });
      return response;
    };
    const targets = new Map(githubTargets({ readCredential: async (id) => (await vault.read(id, { stage: "AWSCURRENT" })).credential, retryBaseMs: 5, fetch: recordingFetch }).map((t) => [t.kind, t]));
    services.push(
      new PropagationService({
        registries: [registry],
        consumers,
        targets,
        vault,
        ledger: new DynamoLedger({ client, tableName: table }),
        queue,
        bus: { publish: async (e) => void events.push(...e) },
        rateLimiter,
        clock: { now: () => new Date() },
        retry: { baseMs: 100, maxMs: 2_000 },
      }),
    );
  }
  const ledger = new DynamoLedger({ client: dynamo.client, tableName: table });
  const states = async () => (await ledger.consumerDeliveries("acme", { limit: 100 })).items;
  /** Resolves when every consumer holds v1 or failed for good; remembers every state seen on the way. */
  const seen: ConsumerDelivery[] = [];
  const settle = async (ms: number) => {
    const deadline = Date.now() + ms;
    for (;;) {
      const now = await states();
      seen.push(...now);
      if (now.length === consumers.length && now.every((d) => d.state === "delivered" || d.state === "failed")) return now;
      if (Date.now() > deadline) throw new Error(`not settled after ${ms} ms: ${now.map((d) => `${d.consumerId}=${d.state}`).join(", ")}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  return { services, consumers, sent, got429, paused, events, settle, seen };
}

/** Every PUT sent inside a pause: by the pausing worker once it knew, by anyone once the pause was in place. */
function writesInsidePauses(w: Awaited<ReturnType<typeof workers>>): Sent[] {
  return w.sent.filter((s) => w.paused.some((p) => s.at < p.until && (s.seq > p.returnedSeq || (s.worker === p.worker && s.seq > p.calledSeq))));
}

describe("GitHub throttling with several workers (issue 11, defects 1 and 2)", () => {
  it("one 429 with Retry-After 3 s mid-stream: no worker writes inside the pause, in-flight deliveries stop, and every consumer ends delivered", async () => {
    github = await FakeGitHub.start({ token: TOKEN });
    github.latencyMs = 40;
    // The 5th PUT: the second delivery's second secret, while other deliveries are mid-way.
    github.rateLimitPuts([5], 3);
    const w = await workers({ count: 2, consumers: 8, perSecond: 100 });
    await w.services[0]?.propagate("acme");
    const final = await w.settle(40_000);

    expect(w.got429).toHaveLength(1);
    expect(w.paused.length).toBeGreaterThan(0);
    const inside = writesInsidePauses(w);
    console.log(
      `429 received at +0; pause in place at +${(w.paused[0]?.returnedAt ?? 0) - (w.got429[0]?.at ?? 0)} ms; PUTs sent inside the pause: ${inside.length}; ${w.sent.length} PUTs in all, the first after the 429 at +${Math.min(...w.sent.filter((s) => s.at >= (w.got429[0]?.at ?? 0)).map((s) => s.at)) - (w.got429[0]?.at ?? 0)} ms`,
    );
    expect(inside).toEqual([]);
    expect(final.map((d) => `${d.consumerId}=${d.state}`).sort()).toEqual(w.consumers.map((c) => `${c.id}=delivered`).sort());
    for (const c of w.consumers) {
      const collection = `/repos/acme/${String(c.target.repository).split("/")[1]}/codespaces/secrets`;
      expect(github.value(collection, "ACME_CONTAINER_REGISTRY_USER"), c.id).toBe("acme-bot");
      expect(github.value(collection, "ACME_CONTAINER_REGISTRY_PASSWORD"), c.id).toBe(PASSWORD);
    }
    expect(w.events.filter((e) => e.type === "Delivery Failed")).toEqual([]);
    expect(github.violations).toEqual([]);
  }, 60_000);

  it("a Retry-After longer than the limiter's maxWaitMs, three times in a row: consumers go `retrying` (next attempt, cause) and all end delivered, none failed", async () => {
    github = await FakeGitHub.start({ token: TOKEN });
    github.latencyMs = 20;
    // maxWaitMs 300 ms < Retry-After 1 s: before, the limiter threw and five quick retries failed every consumer.
    // 10 writes/s, burst 1: one delivery (3 writes) every 300 ms, so each 429 comes after the last pause.
    github.rateLimitPuts([1, 2, 3], 1);
    const w = await workers({ count: 2, consumers: 6, perSecond: 10, burst: 1, maxWaitMs: 300 });
    await w.services[0]?.propagate("acme");
    const final = await w.settle(45_000);

    expect(final.map((d) => `${d.consumerId}=${d.state}`).sort()).toEqual(w.consumers.map((c) => `${c.id}=delivered`).sort());
    expect(w.events.filter((e) => e.type === "Delivery Failed")).toEqual([]);
    const t0 = w.got429[0]?.at ?? 0;
    console.log(`429s received at +${w.got429.map((g) => g.at - t0).join(", +")} ms; pauses until +${[...new Set(w.paused.map((p) => p.until - t0))].join(", +")} ms; ${w.sent.length} PUTs`);
    expect(w.got429).toHaveLength(3);
    expect(new Set(w.paused.map((p) => p.until)).size).toBeGreaterThanOrEqual(3);
    const retrying = w.seen.filter((d) => d.state === "retrying");
    expect(retrying.length).toBeGreaterThan(0);
    expect(retrying[0]).toMatchObject({ nextAttemptAt: expect.any(Date), lastError: { code: expect.stringMatching(/^(throttled|paused)$/) } });
    // Nobody wrote inside any of the three pauses either.
    expect(writesInsidePauses(w)).toEqual([]);
    for (const c of w.consumers) expect(github.value(`/repos/${String(c.target.repository)}/codespaces/secrets`, "ACME_CONTAINER_REGISTRY_PASSWORD"), c.id).toBe(PASSWORD);
  }, 60_000);
});
