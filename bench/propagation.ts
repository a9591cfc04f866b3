import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { credential } from "@pullkeeper/core";
import { EmbeddedRuntime } from "../packages/local/src/runtime.js";
import { FakeGitHub } from "../test/support/fake-github.js";
import { FakeProvider, FakeProviderTarget } from "../test/support/fake-provider.js";

/**
 * A propagation's wall time, and the CPU this process spent in that window (dynalite's own
 * process not included): with the provider's pace fixed, the runtime's CPU is what can hold it back.
 */
export interface PropagationMeasure {
  readonly ms: number;
  readonly cpuMs: number;
}

function measure(): () => PropagationMeasure {
  const started = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  return () => {
    const used = process.cpuUsage(cpu);
    return { ms: Number(process.hrtime.bigint() - started) / 1e6, cpuMs: (used.user + used.system) / 1000 };
  };
}

/** The embedded runtime in `dir` over one managed-secret registry, `hub`, and these consumers (YAML lines); nothing served or scheduled. */
function startHub(dir: string, consumers: string, options: { concurrency: number; settings?: string; extraTargets?: FakeProviderTarget[] }): Promise<EmbeddedRuntime> {
  writeFileSync(
    join(dir, "pullkeeper.yaml"),
    `registries:\n  - { id: hub, host: registry-1.docker.io, kind: dockerhub, source: { type: managed-secret }, secret: bench/hub }\nconsumers:\n${consumers}\n${options.settings ?? ""}`,
  );
  return EmbeddedRuntime.start({
    configPath: join(dir, "pullkeeper.yaml"),
    stateDir: join(dir, "state"),
    serve: false,
    schedule: false,
    log: () => undefined,
    ...(options.extraTargets && { extraTargets: options.extraTargets }),
    delivery: { concurrency: options.concurrency },
  });
}

/**
 * One rotation propagated to `consumers` consumers behind a provider with `latencyMs` latency and
 * a `perSecond` write limit, in the embedded runtime (dynalite ledger and shared rate limiter,
 * local queue, the deliver function's handler). Returns ms from propagate() until the provider
 * has accepted every delivery (and this process's CPU in that time).
 */
export async function propagationTime(options: { consumers: number; latencyMs: number; perSecond: number; concurrency: number }): Promise<PropagationMeasure> {
  const dir = mkdtempSync(join(tmpdir(), "pullkeeper-bench-propagation-"));
  const provider = await new FakeProvider({ latencyMs: options.latencyMs }).start();
  const consumers = Array.from({ length: options.consumers }, (_, i) => `  - { id: c-${i}, registry: hub, target: { kind: test-provider, url: "${provider.server.url}/c-${i}", provider: bench } }`).join("\n");
  const runtime = await startHub(dir, consumers, { concurrency: options.concurrency, settings: `settings:\n  rateLimits: { bench: ${options.perSecond} }\n`, extraTargets: [new FakeProviderTarget(5_000)] });
  try {
    // Someone else rotates a managed secret: a new AWSCURRENT, then the change reaches propagation.
    await runtime.vault.putValue("bench/hub", credential("robot", "rotated-by-someone-else"));
    const done = measure();
    await runtime.propagation.propagate("hub");
    while (provider.receipts.length < options.consumers) await new Promise((r) => setTimeout(r, 10));
    return done();
  } finally {
    await runtime.stop();
    await provider.server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** GitHub's secondary limit on content-creating requests, which the github target module's default rate limit (80/60 per second) holds to. */
export const GITHUB_WRITES_PER_MINUTE = 80;

/**
 * The same rotation reaching `consumers` Codespaces consumers (three secrets each: SERVER, USER,
 * PASSWORD) through the real GitHub target, the GitHub stand-in answering after `latencyMs`, held
 * to GitHub's ~80 content writes a minute by the limiter's default for github. Its bound is the
 * writes over that rate: 3 · consumers / 80 minutes (1,000 consumers: 37.5 minutes, hence a scaled
 * variant in the bench). Returns ms from propagate() until GitHub has accepted every write (and the CPU).
 */
export async function codespacesPropagationTime(options: { consumers: number; latencyMs: number; concurrency: number }): Promise<PropagationMeasure> {
  const token = "ghp_BENCHbenchBENCHbench0123456789abcdefAB";
  const dir = mkdtempSync(join(tmpdir(), "pullkeeper-bench-codespaces-"));
  const github = await FakeGitHub.start({ token });
  github.latencyMs = options.latencyMs;
  const consumers = Array.from(
    { length: options.consumers },
    (_, i) => `  - { id: space-${i}, registry: hub, target: { kind: codespaces-secret, tokenSecret: bench/github-token, baseUrl: "${github.url}", prefix: BENCH, scope: repository, repository: bench/app-${i} } }`,
  ).join("\n");
  const runtime = await startHub(dir, consumers, { concurrency: options.concurrency });
  try {
    await runtime.vault.createSecret("bench/github-token", credential("x-access-token", token));
    await runtime.vault.putValue("bench/hub", credential("robot", "rotated-by-someone-else"));
    const writes = 3 * options.consumers;
    const accepted = () => github.writes().filter((w) => w.method === "PUT" && w.status >= 200 && w.status < 300).length;
    const done = measure();
    await runtime.propagation.propagate("hub");
    while (accepted() < writes) await new Promise((r) => setTimeout(r, 25));
    return done();
  } finally {
    await runtime.stop();
    await github.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
