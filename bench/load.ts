import { BatchWriteItemCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { marshall } from "@aws-sdk/util-dynamodb";
import { ensureLedgerTable, toEnvironmentItem } from "@pullkeeper/aws";
import { environmentId, type EnvironmentRecord, type Verdict } from "@pullkeeper/core";
import autocannon from "autocannon";
import dynalite from "dynalite";
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import type { AddressInfo } from "node:net";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import pLimit from "p-limit";
import { freePort } from "../packages/local/src/net.js";
import { poll } from "./poll.js";
import { type Result, result } from "./result.js";

/**
 * Issue 15's load figures: `pullkeeper dev` in a child process (so its RSS is its own) over a ledger
 * seeded with `environments` environments (1 in 100 stale, across 10 registries and 100 consumers),
 * then autocannon from this process against the stale page and /v1/registries, `rounds` times each,
 * with the admin token. Failures are autocannon's errors (10 s timeouts included) and non-2xx answers.
 * Both run on the same CPUs, so req/s is what is left after the load generator.
 */

const ROOT = resolve(import.meta.dirname, "..");
const TABLE = "pullkeeper-ledger"; // packages/local/src/embedded-stores.ts LEDGER_TABLE
const REGISTRIES = 10;
const CONSUMERS = 100;

export interface LoadOptions {
  readonly durationSeconds?: number;
  readonly connections?: number;
  readonly environments?: number;
  readonly rounds?: number;
}

/** Routes hit in turn, each round; the stale page is the one the dashboard opens with. */
const ROUTES = [
  { name: "stale-page", path: "/v1/environments?verdict=stale&limit=25" },
  { name: "registries", path: "/v1/registries" },
] as const;

/**
 * The RSS bound: the runtime's RSS (with its dynalite child) before the load plus 256 MB, after
 * every round. What the load may hold is bounded by design — the page cache (5,000 environments,
 * a few MB), 100 requests in flight with their pages and SDK buffers (tens of MB), and V8 growing
 * its heap before it collects — while memory kept per request grows with every round: the issue
 * saw 165 → 1,352 MB in four.
 */
const RSS_SLACK_MB = 256;

export async function auditLoad(options: LoadOptions = {}): Promise<Result[]> {
  const duration = options.durationSeconds ?? 30;
  const connections = options.connections ?? 100;
  const total = options.environments ?? 100_000;
  const rounds = options.rounds ?? 4;
  const dir = mkdtempSync(join(tmpdir(), "pullkeeper-load-"));
  const stateDir = join(dir, "state");
  try {
    await seed(join(stateDir, "dynamo"), total);
    const port = await freePort();
    const config = join(dir, "pullkeeper.yaml");
    writeFileSync(
      config,
      `registries:\n${Array.from({ length: REGISTRIES }, (_, r) => `  - { id: reg-${r}, host: r${r}.example.com, kind: generic, source: { type: managed-secret }, secret: bench/reg-${r} }\n`).join("")}`,
    );
    const child = spawn(process.execPath, [join(ROOT, "packages/local/bin/pullkeeper.js"), "dev", "--config", config, "--state-dir", stateDir], {
      env: { ...process.env, PULLKEEPER_PORT: String(port) },
      stdio: "ignore",
    });
    try {
      const base = `http://127.0.0.1:${port}`;
      if (!(await poll(async () => (await fetch(`${base}/healthz`)).ok, 60_000, 100))) throw new Error("the runtime did not answer /healthz within 60 s");
      const token = readFileSync(join(stateDir, "admin-token"), "utf8").trim();
      const headers = { authorization: `Bearer ${token}` };
      // The seeded page is there before the load starts (a wrong count would make the figures meaningless).
      const first = (await (await fetch(`${base}${ROUTES[0].path}`, { headers })).json()) as { items?: unknown[] };
      if (first.items?.length !== 25) throw new Error(`expected a full stale page of 25, got ${JSON.stringify(first).slice(0, 200)}`);

      const pid = child.pid as number;
      const startMb = rssMb(pid);
      const results: Result[] = [result("load.rss-at-start", startMb, "MB")];
      const rss: number[] = [];
      const runs: Record<string, autocannon.Result[]> = {};
      for (let round = 0; round < rounds; round++) {
        for (const route of ROUTES) {
          const run = await autocannon({ url: `${base}${route.path}`, connections, duration, headers });
          (runs[route.name] ??= []).push(run);
        }
        rss.push(rssMb(pid));
        results.push(result(`load.rss-after-round-${round + 1}`, rss[round] as number, "MB"));
      }
      for (const route of ROUTES) {
        const all = runs[route.name] ?? [];
        // The last round's rates (warm); failures summed over every round.
        const last = all[all.length - 1] as autocannon.Result;
        results.push(
          result(`load.${route.name}.req-per-s`, last.requests.average, "req/s"),
          result(`load.${route.name}.p50-ms`, last.latency.p50, "ms"),
          result(`load.${route.name}.p99-ms`, last.latency.p99, "ms"),
          zeroBound(`load.${route.name}.errors`, all.reduce((n, r) => n + r.errors + r.non2xx, 0)),
        );
      }
      const peak = Math.max(...rss);
      results.push(result("load.rss-peak", peak, "MB", startMb + RSS_SLACK_MB), result("load.rss-growth-mb", peak - startMb, "MB", RSS_SLACK_MB));
      return results;
    } finally {
      child.kill("SIGTERM");
      await new Promise((r) => child.once("exit", r));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The ledger table in the LevelDB directory the runtime opens at start, filled by BatchWriteItem. */
export async function seed(path: string, total: number): Promise<void> {
  const server = dynalite({ path, createTableMs: 0 });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const client = new DynamoDBClient({ endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, region: "us-east-1", credentials: { accessKeyId: "bench", secretAccessKey: "bench" } });
  try {
    await ensureLedgerTable(client, TABLE);
    const now = new Date();
    const record = (i: number): EnvironmentRecord => {
      const c = i % CONSUMERS;
      const consumerId = `cons-${c}`;
      const verdict: Verdict = i % 100 === 7 ? "stale" : "current";
      const externalId = `ns/pod-${i}`;
      return { id: environmentId(consumerId, externalId), registryId: `reg-${c % REGISTRIES}`, consumerId, externalId, kind: "kubernetes-pod", name: `pod-${i}`, startedAt: now, status: "Running", verdict, heldVersionId: "v1", verdictSince: now, reason: "seeded", firstSeenAt: now, lastSeenAt: now };
    };
    const limit = pLimit(8);
    await Promise.all(
      Array.from({ length: Math.ceil(total / 25) }, (_, b) =>
        limit(async () => {
          let pending = Array.from({ length: Math.min(25, total - b * 25) }, (_, k) => ({ PutRequest: { Item: marshall(toEnvironmentItem(record(b * 25 + k)), { removeUndefinedValues: true }) } }));
          while (pending.length > 0) {
            const out = await client.send(new BatchWriteItemCommand({ RequestItems: { [TABLE]: pending } }));
            pending = (out.UnprocessedItems?.[TABLE] ?? []) as typeof pending;
          }
        }),
      ),
    );
  } finally {
    client.destroy();
    // dynalite closes LevelDB in close(), so the runtime can open the directory next.
    await new Promise<void>((r) => server.close(() => r()));
  }
}

/** A count whose bound is 0: value/bound has no meaning, so the ratio is 0 when met and over 1 (flagged) otherwise. */
function zeroBound(name: string, count: number): Result {
  return { ...result(name, count, "count"), bound: 0, ratio: count === 0 ? 0 : count + 1 };
}

/** RSS of the runtime and every process it started (dynalite may run in a child of its own). */
function rssMb(pid: number): number {
  const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
  if (kb === undefined) throw new Error(`no VmRSS for process ${pid}`);
  const children = readdirSync(`/proc/${pid}/task`).flatMap((task) => readFileSync(`/proc/${pid}/task/${task}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number));
  return Number(kb) / 1024 + children.reduce((mb, child) => mb + rssMb(child), 0);
}

// `npx tsx bench/load.ts [seconds] [environments]`: the figures as JSON.
if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const seconds = process.argv[2] === undefined ? undefined : Number(process.argv[2]);
  const environments = process.argv[3] === undefined ? undefined : Number(process.argv[3]);
  process.stdout.write(`${JSON.stringify(await auditLoad({ ...(seconds !== undefined && { durationSeconds: seconds }), ...(environments !== undefined && { environments }) }), null, 2)}\n`);
}
