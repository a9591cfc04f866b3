import { InvalidInputError, PullkeeperError, VERDICTS } from "@pullkeeper/core";
import { SingleBar } from "cli-progress";
import { type Command, Option } from "commander";
import type { ApiClient } from "./client.js";
import { at, fit, inTime, plural, shortId, table, until } from "./format.js";

/** `audit`, `history` and `propagate`: the on-call questions, answered from the audit API. */

export interface CommandContext {
  /** Opens the API for this command's global options (a running runtime, or this process). */
  connect(cmd: Command): Promise<ApiClient>;
  json(cmd: Command): boolean;
  out(text: string): void;
  err(text: string): void;
}

interface EnvironmentRow {
  id: string;
  registry: string;
  consumer: string;
  kind: string;
  name: string;
  verdict: string;
  forSeconds: number;
  startedAt: string;
  reason: string;
}

interface ConsumerRow {
  id: string;
  declared: boolean;
  delivery: {
    state: string;
    versionId: string;
    deliveredVersionId: string | null;
    attempts: number;
    lastError: { code: string; message: string } | null;
    nextAttemptAt?: string | null;
    redriveAt?: string | null;
  } | null;
}

/** Where one consumer stands against the version being propagated. */
type Standing = "holds" | "failed" | "retrying" | "delivering";

export function standing(row: ConsumerRow, versionId: string): Standing {
  const d = row.delivery;
  if (d && (d.state === "delivered" || d.state === "verified") && d.deliveredVersionId === versionId) return "holds";
  if (d?.versionId === versionId && d.state === "failed") return "failed";
  if (d?.versionId === versionId && d.state === "retrying") return "retrying";
  return "delivering";
}

export interface Tally {
  readonly holds: number;
  readonly failed: number;
  readonly retrying: number;
  readonly delivering: number;
  /** Consumers the wait is over for: they hold the version or failed for good. */
  readonly settled: number;
  readonly total: number;
}

export function tally(rows: readonly ConsumerRow[], versionId: string): Tally {
  const n = { holds: 0, failed: 0, retrying: 0, delivering: 0 };
  for (const row of rows) n[standing(row, versionId)] += 1;
  return { ...n, settled: n.holds + n.failed, total: rows.length };
}

/**
 * The one description of where a propagation stands: the progress bar, the per-change lines and
 * the final summary all use it, so they cannot disagree. The bar fills with `settled`, the same
 * count the wait ends on (a consumer that failed for good is done with, not outstanding).
 */
export function tallyText(t: Tally, version: string): string {
  const parts = [`${t.holds}/${t.total} consumers hold ${version}`];
  if (t.failed > 0) parts.push(`${t.failed} failed for good`);
  if (t.retrying > 0) parts.push(`${t.retrying} retrying`);
  if (t.delivering > 0) parts.push(`${t.delivering} being delivered`);
  return parts.join(", ");
}

/** "unauthorized: GitHub rejected the token (401)", cut short for one line. */
const cause = (d: ConsumerRow["delivery"]) => (d?.lastError ? `${d.lastError.code}: ${d.lastError.message.length > 120 ? `${d.lastError.message.slice(0, 117)}...` : d.lastError.message}` : "no cause recorded");

/** "3h 12m" from seconds. */
export function duration(seconds: number): string {
  return until(new Date(Date.now() + seconds * 1000).toISOString()).replace(/^expired (.*) ago$/, "$1");
}

async function ok(client: ApiClient, method: string, path: string): Promise<Record<string, unknown>> {
  const response = await client.request(method, path);
  if (response.status >= 400) throw new Error((response.body as { message?: string }).message ?? `HTTP ${response.status}`);
  return response.body as Record<string, unknown>;
}

/** Every page of a list route. */
async function all<T>(client: ApiClient, path: string): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | null = null;
  do {
    const sep = path.includes("?") ? "&" : "?";
    const body = await ok(client, "GET", `${path}${sep}limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
    items.push(...(body.items as T[]));
    cursor = (body.cursor as string | null) ?? null;
  } while (cursor);
  return items;
}

async function withClient<T>(ctx: CommandContext, cmd: Command, work: (client: ApiClient) => Promise<T>): Promise<T> {
  const client = await ctx.connect(cmd);
  try {
    return await work(client);
  } finally {
    await client.close();
  }
}

export function addAuditCommands(program: Command, ctx: CommandContext): void {
  program
    .command("audit")
    .description("running environments and their verdicts: who still holds a stale credential, and since when")
    .addOption(new Option("--verdict <verdict>", "only this verdict").choices([...VERDICTS]))
    .option("-r, --registry <id>", "only this registry's environments")
    .option("--consumer <id>", "only this consumer's environments")
    .option("--scan", "discover environments now, before answering", false)
    .action(async (opts: { verdict?: string; registry?: string; consumer?: string; scan: boolean }, cmd: Command) =>
      withClient(ctx, cmd, async (client) => {
        if (opts.scan) await ok(client, "POST", `/v1/environments/scan${opts.registry ? `?registry=${encodeURIComponent(opts.registry)}` : ""}`);
        const query = new URLSearchParams({ ...(opts.verdict && { verdict: opts.verdict }), ...(opts.registry && { registry: opts.registry }), ...(opts.consumer && { consumer: opts.consumer }) });
        const items = await all<EnvironmentRow>(client, `/v1/environments${query.size > 0 ? `?${query}` : ""}`);
        if (ctx.json(cmd)) return ctx.out(JSON.stringify(items));
        if (items.length === 0) return ctx.out(`no environments${opts.verdict ? ` are ${opts.verdict}` : " on record"}${opts.scan ? "" : " (the last scan's view; --scan to look now)"}`);
        ctx.out(
          table(
            ["environment", "registry", "consumer", "kind", "verdict", "for", "started", "why"],
            items.map((e) => [e.name, e.registry, e.consumer, e.kind, e.verdict, duration(e.forSeconds), until(e.startedAt).replace(/^expired (.*) ago$/, "$1 ago"), e.reason]),
          ),
        );
      }),
    );

  program
    .command("history")
    .description("a registry's rotations, deliveries, failures and verdict changes, newest first")
    .argument("<registry>", "registry id")
    .addOption(new Option("-n, --limit <n>", "entries to show").default("25").argParser((v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1 || n > 100) throw new InvalidInputError(`--limit: expected an integer from 1 to 100, got ${JSON.stringify(v)}`);
      return n;
    }))
    .action(async (registry: string, opts: { limit: number }, cmd: Command) =>
      withClient(ctx, cmd, async (client) => {
        const response = await client.request("GET", `/v1/registries/${encodeURIComponent(registry)}/history?limit=${opts.limit}`);
        if (response.status === 404) {
          // A typo is the likely cause: name the registries there are.
          const known = (await all<{ id: string }>(client, "/v1/registries")).map((r) => r.id);
          throw new PullkeeperError("not_found", `no registry ${JSON.stringify(registry)}; ${known.length === 0 ? "the config declares no registries" : `the config declares ${plural(known.length, "registry", "registries")}: ${known.join(", ")}`}`);
        }
        if (response.status >= 400) throw new Error((response.body as { message?: string }).message ?? `HTTP ${response.status}`);
        const items = (response.body as { items: Record<string, unknown>[] }).items;
        if (ctx.json(cmd)) return ctx.out(JSON.stringify(items));
        if (items.length === 0) return ctx.out(`registry ${registry} has no history yet`);
        ctx.out(table(["when (UTC)", "what", "detail"], items.map((e) => [at(String(e.at)).replace(/ UTC$/, ""), EVENT[String(e.type)] ?? String(e.type), describe(e)]), fit([21, 21, null])));
      }),
    );

  program
    .command("consumers")
    .description("each consumer's delivery: what it holds, and for those not done the state (pending, retrying, failed), next attempt and last cause")
    .option("-r, --registry <id>", "only this registry's consumers")
    .option("--state <state>", "only this delivery state (pending, retrying, delivered, verified, failed, never)")
    .action(async (opts: { registry?: string; state?: string }, cmd: Command) =>
      withClient(ctx, cmd, async (client) => {
        const query = new URLSearchParams({ ...(opts.registry && { registry: opts.registry }), ...(opts.state && { state: opts.state }) });
        const rows = (await all<ConsumerRow & { registry: string; kind: string }>(client, `/v1/consumers${query.size > 0 ? `?${query}` : ""}`)).filter((c) => c.declared);
        if (ctx.json(cmd)) return ctx.out(JSON.stringify(rows));
        if (rows.length === 0) return ctx.out(`no consumers${opts.state ? ` in state ${opts.state}` : ""}`);
        ctx.out(
          table(
            ["consumer", "state", "holds", "next", "last cause"],
            rows.map((c) => [`${c.id}\n${c.registry}, ${c.kind}`, stateCell(c.delivery), shortId(c.delivery?.deliveredVersionId), nextCell(c.delivery), c.delivery?.lastError ? cause(c.delivery) : "—"]),
            fit([22, 17, 10, 26, null]),
          ),
        );
      }),
    );

  program
    .command("propagate")
    .description("deliver a registry's current version to its consumers now, and wait until each holds it, failed for good, or --timeout passes")
    .requiredOption("-r, --registry <id>", "the registry")
    .option("-f, --force", "deliver to every consumer now, even those that hold it already or failed for good", false)
    .option("--timeout <seconds>", "stop waiting after this long (deliveries carry on)", "300")
    .action(async (opts: { registry: string; force: boolean; timeout: string }, cmd: Command) =>
      withClient(ctx, cmd, async (client) => {
        const timeoutMs = Number(opts.timeout) * 1000;
        if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new InvalidInputError(`--timeout: expected seconds above 0, got ${JSON.stringify(opts.timeout)}`);
        const registry = encodeURIComponent(opts.registry);
        // The plan names the vault's AWSCURRENT: that is the version every consumer must end up holding.
        const plan = await ok(client, "POST", `/v1/registries/${registry}/propagate?force=${opts.force}`);
        const version = plan.versionId as string | undefined;
        if (!version && plan.reason === "no consumers") return ctx.out(ctx.json(cmd) ? JSON.stringify({ registry: opts.registry, plan, consumers: 0 }) : `${opts.registry}: no consumers subscribe to it; nothing to propagate`);
        if (!version) throw new Error(`registry ${opts.registry}: nothing to propagate: ${String(plan.reason ?? "it has no current version yet")}`);
        if (plan.requested === 0 && !ctx.json(cmd)) ctx.err(`${opts.registry}: nothing new to deliver: ${String(plan.reason)}`);

        const read = async () => (await all<ConsumerRow>(client, `/v1/consumers?registry=${registry}`)).filter((c) => c.declared);
        // Done when every consumer holds the version or failed for good; retrying ones are waited for.
        const done = (rows: ConsumerRow[]) => { const t = tally(rows, version); return t.settled === t.total; };
        let rows = await read();
        // Progress on stderr, so --json output on stdout stays clean: a bar on a terminal, a line per change elsewhere.
        const tty = !ctx.json(cmd) && process.stderr.isTTY === true;
        const bar = tty ? new SingleBar({ format: `{bar} {value}/{total} done | {text}`, stream: process.stderr, hideCursor: true }) : undefined;
        let last = "";
        const progress = () => {
          const t = tally(rows, version);
          if (bar) return bar.update(t.settled, { text: tallyText(t, shortId(version)) });
          const line = `${opts.registry}: ${tallyText(t, version)}`;
          if (!ctx.json(cmd) && line !== last) ctx.err(line);
          last = line;
        };
        bar?.start(rows.length, tally(rows, version).settled, { text: tallyText(tally(rows, version), shortId(version)) });
        progress();
        const deadline = Date.now() + timeoutMs;
        while (!done(rows) && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, Math.min(500, Math.max(0, deadline - Date.now()))));
          rows = await read();
          progress();
        }
        bar?.stop();

        const by = (s: Standing) => rows.filter((c) => standing(c, version) === s);
        const failed = by("failed");
        const retrying = by("retrying");
        const delivering = by("delivering");
        const timedOut = retrying.length + delivering.length > 0;
        if (ctx.json(cmd)) {
          ctx.out(
            JSON.stringify({
              registry: opts.registry,
              versionId: version,
              plan,
              consumers: rows.length,
              holding: by("holds").length,
              failed: failed.map((c) => c.id),
              // Still under way when the wait ended: being delivered, or retrying (with when and why).
              waiting: [...delivering, ...retrying].map((c) => c.id),
              retrying: retrying.map((c) => ({ id: c.id, nextAttemptAt: c.delivery?.nextAttemptAt ?? null, attempts: c.delivery?.attempts ?? 0, lastError: c.delivery?.lastError ?? null })),
              failures: failed.map((c) => ({ id: c.id, lastError: c.delivery?.lastError ?? null, redriveAt: c.delivery?.redriveAt ?? null })),
              timedOut,
            }),
          );
        } else {
          const parts = [`${opts.registry}: ${tallyText(tally(rows, version), version)}`];
          if (failed.length > 0) parts.push(`failed for good: ${failed.map((c) => `${c.id} (${cause(c.delivery)})`).join(", ")}${opts.force ? "" : " — fix the cause, then --force redelivers now (reconcile also tries again by itself)"}`);
          if (retrying.length > 0) parts.push(`still retrying: ${retrying.map((c) => `${c.id} (next attempt ${c.delivery?.nextAttemptAt ?? "soon"}; ${cause(c.delivery)})`).join(", ")}`);
          if (delivering.length > 0) parts.push(`still being delivered: ${delivering.map((c) => c.id).join(", ")}`);
          if (timedOut) parts.push(`stopped waiting after ${opts.timeout} s; the deliveries carry on`);
          ctx.out(parts.join("; "));
        }
        // Non-zero only for a real failure, or for work still outstanding when the wait ended.
        if (failed.length > 0 || timedOut) process.exitCode = 1;
      }),
    );
}

/** History event types in a narrow column. */
const EVENT: Readonly<Record<string, string>> = {
  "delivery-failed": "delivery failed",
  "discovery-failed": "discovery failed",
  "environment-verdict": "verdict",
  "environment-restarted": "restarted",
  "verification-failed": "verification failed",
  "refresh-failed": "refresh failed",
  "rolled-back": "rolled back",
};

function stateCell(d: ConsumerRow["delivery"]): string {
  if (!d) return "never delivered";
  const attempts = d.attempts > 1 ? ` (${plural(d.attempts, "attempt")})` : "";
  return `${d.state === "failed" ? "failed for good" : d.state}${attempts}${d.state !== "delivered" && d.state !== "verified" ? `\nof ${shortId(d.versionId)}` : ""}`;
}

function nextCell(d: ConsumerRow["delivery"]): string {
  if (d?.state === "retrying") return d.nextAttemptAt ? `next attempt ${at(d.nextAttemptAt)} (${inTime(d.nextAttemptAt)})` : "next attempt soon";
  if (d?.state === "failed") return `fix the cause; reconcile retries ${d.redriveAt ? `${at(d.redriveAt)} (${inTime(d.redriveAt)})` : "later"}`;
  if (d?.state === "pending") return "being delivered";
  return "—";
}

function describe(e: Record<string, unknown>): string {
  const v = (x: unknown) => shortId(String(x));
  switch (e.type) {
    case "rotated":
      return `version ${v(e.versionId)}${e.expiresAt ? `, expires ${at(String(e.expiresAt))}` : ""}`;
    case "delivered":
      return `${String(e.consumerId)} got ${v(e.versionId)} (${String(e.status)})`;
    case "delivery-failed":
      return `${String(e.consumerId)} did not get ${v(e.versionId)}: ${String(e.code)}: ${String(e.message)}`;
    case "environment-verdict":
      return `${String(e.name)} (${String(e.consumerId)}): ${String(e.from ?? "new")} → ${String(e.to)}`;
    case "discovery-failed":
      return `${String(e.consumerId)}: ${String(e.code)}: ${String(e.message)}`;
    case "environment-restarted":
      return `${String(e.name)} (${String(e.consumerId)}): ${String(e.detail)}`;
    case "revoked":
      return `version ${v(e.versionId)} (${String(e.reason)}): ${String(e.detail)}`;
    case "rolled-back":
      return `from ${v(e.fromVersionId)} to ${v(e.restoredVersionId)}'s credential, now ${v(e.versionId)}`;
    default:
      return [e.versionId === undefined ? undefined : v(e.versionId), e.code, e.status, e.detail, e.message].filter((x) => x !== undefined).map(String).join(": ");
  }
}
