import { InvalidInputError, VERDICTS } from "@pullkeeper/core";
import { SingleBar } from "cli-progress";
import { type Command, Option } from "commander";
import type { ApiClient } from "./client.js";
import { table, until } from "./format.js";

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
  delivery: { state: string; versionId: string } | null;
}

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
        const body = await ok(client, "GET", `/v1/registries/${encodeURIComponent(registry)}/history?limit=${opts.limit}`);
        const items = body.items as Record<string, unknown>[];
        if (ctx.json(cmd)) return ctx.out(JSON.stringify(items));
        if (items.length === 0) return ctx.out(`registry ${registry} has no history yet`);
        ctx.out(table(["at", "what", "detail"], items.map((e) => [String(e.at), String(e.type), describe(e)])));
      }),
    );

  program
    .command("propagate")
    .description("deliver a registry's current version to its consumers now, with progress")
    .requiredOption("-r, --registry <id>", "the registry")
    .option("-f, --force", "deliver to every consumer, even those that hold it already", false)
    .option("--timeout <seconds>", "stop waiting after this long (deliveries carry on)", "300")
    .action(async (opts: { registry: string; force: boolean; timeout: string }, cmd: Command) =>
      withClient(ctx, cmd, async (client) => {
        const timeoutMs = Number(opts.timeout) * 1000;
        if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new InvalidInputError(`--timeout: expected seconds above 0, got ${JSON.stringify(opts.timeout)}`);
        const registry = encodeURIComponent(opts.registry);
        const current = ((await ok(client, "GET", `/v1/registries/${registry}`)).current as { versionId: string } | null)?.versionId;
        if (!current) throw new Error(`registry ${opts.registry} has no current version yet: refresh or rotate it first`);
        const plan = await ok(client, "POST", `/v1/registries/${registry}/propagate?force=${opts.force}`);
        const settled = (rows: ConsumerRow[]) => rows.filter((c) => c.delivery?.versionId === current && c.delivery.state !== "pending");
        let rows = (await all<ConsumerRow>(client, `/v1/consumers?registry=${registry}`)).filter((c) => c.declared);
        // Progress goes to stderr, so --json output on stdout stays clean.
        const bar = ctx.json(cmd) || !process.stderr.isTTY ? undefined : new SingleBar({ format: "{bar} {value}/{total} consumers hold " + current + " | {failed} failed", stream: process.stderr, hideCursor: true });
        bar?.start(rows.length, settled(rows).length, { failed: 0 });
        const deadline = Date.now() + timeoutMs;
        while (settled(rows).length < rows.length && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 500));
          rows = (await all<ConsumerRow>(client, `/v1/consumers?registry=${registry}`)).filter((c) => c.declared);
          bar?.update(settled(rows).length, { failed: rows.filter((c) => c.delivery?.state === "failed").length });
        }
        bar?.stop();
        const failed = rows.filter((c) => c.delivery?.versionId === current && c.delivery.state === "failed").map((c) => c.id);
        const waiting = rows.filter((c) => !settled(rows).includes(c)).map((c) => c.id);
        if (ctx.json(cmd)) ctx.out(JSON.stringify({ registry: opts.registry, versionId: current, plan, consumers: rows.length, failed, waiting }));
        else ctx.out(`${opts.registry}: ${rows.length - failed.length - waiting.length}/${rows.length} consumers hold ${current}${failed.length ? `; failed: ${failed.join(", ")}` : ""}${waiting.length ? `; still pending: ${waiting.join(", ")}` : ""}`);
        if (failed.length > 0 || waiting.length > 0) process.exitCode = 1;
      }),
    );
}

function describe(e: Record<string, unknown>): string {
  switch (e.type) {
    case "rotated":
      return `version ${String(e.versionId)}${e.expiresAt ? `, expires ${String(e.expiresAt)}` : ""}`;
    case "delivered":
      return `${String(e.consumerId)} got ${String(e.versionId)} (${String(e.status)})`;
    case "delivery-failed":
      return `${String(e.consumerId)} did not get ${String(e.versionId)}: ${String(e.code)}: ${String(e.message)}`;
    case "environment-verdict":
      return `${String(e.name)} (${String(e.consumerId)}): ${String(e.from ?? "new")} → ${String(e.to)}`;
    case "discovery-failed":
      return `${String(e.consumerId)}: ${String(e.code)}: ${String(e.message)}`;
    case "environment-restarted":
      return `${String(e.name)} (${String(e.consumerId)}): ${String(e.detail)}`;
    default:
      return [e.code, e.status, e.detail, e.message].filter((x) => x !== undefined).map(String).join(": ");
  }
}
