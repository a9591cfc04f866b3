import type { Command } from "commander";
import type { CommandContext } from "./audit-commands.js";
import { at, fit, shortId, table } from "./format.js";

/** `rollback` and `versions`: on-call's way back from a credential that broke something, and what each version's life looks like. */

interface VersionRow {
  role: string;
  versionId: string;
  createdAt: string;
  promotedAt: string | null;
  supersededAt: string | null;
  verification: { status: string; checkedAt: string };
  deliveredTo: { consumers: number; of: number };
  heldBy: { environments: number };
  revoked: { at: string; reason: string } | null;
}

export function addLifecycleCommands(program: Command, ctx: CommandContext): void {
  program
    .command("rollback")
    .description("put the previous credential back as current (only if it is not revoked and still opens the registry) and propagate it")
    .requiredOption("-r, --registry <id>", "the registry to roll back")
    .action(async (opts: { registry: string }, cmd: Command) => {
      const client = await ctx.connect(cmd);
      try {
        const response = await client.request("POST", `/v1/registries/${encodeURIComponent(opts.registry)}/rollback`);
        const body = response.body as { message?: string; code?: string; restoredVersionId?: string; versionId?: string; fromVersionId?: string };
        if (ctx.json(cmd)) ctx.out(JSON.stringify({ status: response.status, ...body }));
        else if (response.status === 200) ctx.out(`${opts.registry}: rolled back from ${body.fromVersionId}; the credential of ${body.restoredVersionId} is current again as ${body.versionId}, propagating`);
        else ctx.err(`pullkeeper: ${body.code ?? "error"}: ${body.message ?? `HTTP ${response.status}`}`);
        if (response.status !== 200) process.exitCode = 1;
      } finally {
        await client.close();
      }
    });

  program
    .command("versions")
    .description("a registry's current and previous versions: verified, promoted, delivered to N of M, held by K, revoked")
    .argument("<registry>", "registry id")
    .action(async (registry: string, _opts: unknown, cmd: Command) => {
      const client = await ctx.connect(cmd);
      try {
        const response = await client.request("GET", `/v1/registries/${encodeURIComponent(registry)}/versions`);
        const body = response.body as { message?: string; items?: VersionRow[]; revocation?: { state: string; reason: string } | null };
        if (response.status !== 200) {
          ctx.err(`pullkeeper: ${body.message ?? `HTTP ${response.status}`}`);
          process.exitCode = 1;
          return;
        }
        if (ctx.json(cmd)) return ctx.out(JSON.stringify(body));
        ctx.out(
          table(
            ["role", "version", "verified", "promoted", "delivered", "held by", "revoked"],
            (body.items ?? []).map((v) => [
              v.role,
              shortId(v.versionId),
              v.verification.status,
              at(v.promotedAt),
              `${v.deliveredTo.consumers}/${v.deliveredTo.of}`,
              String(v.heldBy.environments),
              v.revoked ? `${at(v.revoked.at)} (${v.revoked.reason})` : "no",
            ]),
            // 100 columns; --json has the whole ids.
            fit([10, 10, 10, 25, 11, 9, null]),
          ),
        );
        if (body.revocation) ctx.out(`revocation of ${registry}'s previous version: ${body.revocation.state}: ${body.revocation.reason}`);
      } finally {
        await client.close();
      }
    });
}
