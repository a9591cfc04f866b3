import { writeFileSync } from "node:fs";
import { EmbeddedRuntime } from "../packages/local/src/runtime.js";
import { allHold, api, safeRotationWorld } from "../test/e2e/support/safe-rotation-world.js";
import { eventually } from "../test/e2e/support/harness.js";

/**
 * Issue 11's figure, in its own process (the embedded runtime logs to stdout): a real
 * docker-registry and five GitHub consumers behind the GitHub API stand-in. One delivery round is
 * the first rotation reaching everyone unthrottled; then a rotation whose first write answers
 * 429 Retry-After: <argv[3]> s. Each is timed from the version's promotion to the last consumer's
 * recorded delivery.
 * Writes {roundMs, throttledMs} to argv[2].
 */
const [out, retryAfter] = process.argv.slice(2) as [string, string];
const world = await safeRotationWorld();
const runtime = await EmbeddedRuntime.start({ configPath: world.configPath, stateDir: world.stateDir, port: 0, htpasswdCost: 4, log: () => undefined });
try {
  const base = runtime.server?.url as string;
  const v1 = await eventually(async () => (await runtime.ledger.registryState("local"))?.current, 60_000, "the first rotation");
  await allHold(base, world.stateDir, v1.versionId, 120_000);
  // Both figures run from the promotion to the last consumer's recorded delivery: the same clock, the same ends.
  const lastDelivery = async () => Math.max(...(await runtime.ledger.consumerDeliveries("local", { limit: 100 })).items.map((d) => d.deliveredAt?.getTime() ?? Number.NaN));
  const roundMs = (await lastDelivery()) - (v1.promotedAt ?? v1.createdAt).getTime();

  world.github.respond({ status: 429, headers: { "retry-after": retryAfter }, body: { message: "You have exceeded a secondary rate limit." }, match: (r) => r.method === "PUT" && /\/secrets\/[A-Z0-9_]+$/.test(r.path) });
  const rotated = await api(base, world.stateDir, "POST", "/v1/registries/local/refresh?force=true");
  if (rotated.status !== 200) throw new Error(`rotation failed: ${JSON.stringify(rotated.body)}`);
  await allHold(base, world.stateDir, rotated.body.versionId as string, (Number(retryAfter) + 120) * 1000);
  const v2 = await runtime.ledger.registryState("local");
  const promoted = (v2?.current?.promotedAt ?? v2?.current?.createdAt ?? new Date(Number.NaN)).getTime();
  writeFileSync(out, JSON.stringify({ roundMs, throttledMs: (await lastDelivery()) - promoted }));
} finally {
  await runtime.stop();
  await world.close();
}
process.exit(0);
