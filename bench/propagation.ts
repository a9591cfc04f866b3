import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { credential } from "@pullkeeper/core";
import { EmbeddedRuntime } from "../packages/local/src/runtime.js";
import { FakeProvider, FakeProviderTarget } from "../test/support/fake-provider.js";

/**
 * One rotation propagated to `consumers` consumers behind a provider with `latencyMs` latency and
 * a `perSecond` write limit, in the embedded runtime (dynalite ledger and shared rate limiter,
 * local queue, the deliver function's handler). Returns ms from propagate() until the provider
 * has accepted every delivery.
 */
export async function propagationTime(options: { consumers: number; latencyMs: number; perSecond: number; concurrency: number }): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), "pullkeeper-bench-propagation-"));
  const provider = await new FakeProvider({ latencyMs: options.latencyMs }).start();
  const consumers = Array.from({ length: options.consumers }, (_, i) => `  - { id: c-${i}, registry: hub, target: { kind: test-provider, url: "${provider.server.url}/c-${i}", provider: bench } }`).join("\n");
  writeFileSync(
    join(dir, "pullkeeper.yaml"),
    `registries:\n  - { id: hub, host: registry-1.docker.io, kind: dockerhub, source: { type: managed-secret }, secret: bench/hub }\nconsumers:\n${consumers}\nsettings:\n  rateLimits: { bench: ${options.perSecond} }\n`,
  );
  const runtime = await EmbeddedRuntime.start({
    configPath: join(dir, "pullkeeper.yaml"),
    stateDir: join(dir, "state"),
    serve: false,
    schedule: false,
    log: () => undefined,
    extraTargets: [new FakeProviderTarget(5_000)],
    delivery: { concurrency: options.concurrency },
  });
  try {
    // Someone else rotates a managed secret: a new AWSCURRENT, then the change reaches propagation.
    await runtime.vault.putValue("bench/hub", credential("robot", "rotated-by-someone-else"));
    const started = process.hrtime.bigint();
    await runtime.propagation.propagate("hub");
    while (provider.receipts.length < options.consumers) await new Promise((r) => setTimeout(r, 10));
    return Number(process.hrtime.bigint() - started) / 1e6;
  } finally {
    await runtime.stop();
    await provider.server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
