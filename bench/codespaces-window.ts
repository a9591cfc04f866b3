import { DynamoLedger, DynamoRateLimiter } from "@pullkeeper/aws";
import { type Consumer, credential, type DeliveryRequest, PropagationService, type Registry, type StoredCredential, type Vault } from "@pullkeeper/core";
import { LocalDeliveryQueue } from "../packages/local/src/queue/local-delivery-queue.js";
import { githubTargets } from "../packages/targets/src/github/index.js";
import { startDynalite } from "../test/support/dynalite.js";
import { FakeGitHub } from "../test/support/fake-github.js";

/**
 * How long a Codespaces consumer holds a mix of old and new secrets: from the first to the last PUT
 * of one delivery (SERVER, USER, PASSWORD), as the GitHub stand-in receives them. `consumers`
 * deliveries run at once through the engine (dynalite ledger and shared rate limiter, local queue,
 * the real GitHub target), GitHub answering each request after `latencyMs`. Returns the widest
 * window of any delivery, and the median, in ms.
 */
export async function codespacesWriteWindow(options: { consumers: number; latencyMs: number }): Promise<{ maxMs: number; medianMs: number }> {
  const token = "ghp_BENCHbenchBENCHbench0123456789abcdefAB";
  const dynamo = await startDynalite();
  const github = await FakeGitHub.start({ token });
  github.latencyMs = options.latencyMs;
  const engine: PropagationService[] = [];
  const queue = new LocalDeliveryQueue({ concurrency: options.consumers, handle: async (r: DeliveryRequest) => void (await engine[0]?.deliver(r)) });
  try {
    const table = await dynamo.createLedgerTable();
    const created = new Date();
    const vault = {
      read: async (): Promise<StoredCredential> => ({ arn: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:bench-AbCdEf", versionId: "v1", stages: ["AWSCURRENT"], createdAt: created, credential: credential("bench-bot", "bench-password") }),
    } as unknown as Vault;
    const registry: Registry = { id: "bench", host: "registry.example.com", kind: "generic", source: { type: "managed-secret" }, secret: "bench", verify: {} };
    const consumers: Consumer[] = Array.from({ length: options.consumers }, (_, i) => ({
      id: `space-${i}`,
      registryId: "bench",
      target: { kind: "codespaces-secret", tokenSecret: "bench/github-token", baseUrl: github.url, prefix: "BENCH", scope: "repository", repository: `bench/app-${i}` },
    }));
    const targets = new Map(githubTargets({ readCredential: async () => credential("x-access-token", token) }).map((t) => [t.kind, t]));
    // A budget wide enough that every delivery is in flight at once: the window must not grow with the others' writes.
    const service: PropagationService = new PropagationService({
      registries: [registry],
      consumers,
      targets,
      vault,
      ledger: new DynamoLedger({ client: dynamo.client, tableName: table }),
      queue,
      bus: { publish: async () => undefined },
      rateLimiter: new DynamoRateLimiter({ client: dynamo.client, tableName: table, limits: () => ({ perSecond: 1_000 }) }),
      clock: { now: () => new Date() },
    });
    engine.push(service);
    await service.propagate("bench");
    await queue.drain();
    const windows = consumers.map((c) => {
      const puts = github.writes().filter((w) => w.path.startsWith(`/repos/${String(c.target.repository)}/`) && w.status < 300);
      if (puts.length !== 3) throw new Error(`${c.id}: expected 3 secrets written, saw ${puts.length}`);
      return Math.max(...puts.map((p) => p.at)) - Math.min(...puts.map((p) => p.at));
    });
    const sorted = [...windows].sort((a, b) => a - b);
    return { maxMs: sorted[sorted.length - 1] ?? Number.NaN, medianMs: sorted[Math.floor(sorted.length / 2)] ?? Number.NaN };
  } finally {
    await queue.stop();
    await github.close();
    await dynamo.stop();
  }
}
