import type { ConsumerDelivery, PullkeeperEvent } from "@pullkeeper/core";
import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { vi } from "vitest";
import { InProcessBus } from "../../../packages/local/src/bus/in-process-bus.js";
import { LocalDeliveryQueue } from "../../../packages/local/src/queue/local-delivery-queue.js";
import { EmbeddedRuntime } from "../../../packages/local/src/runtime.js";
import { basicStatus, eventually } from "../../e2e/support/harness.js";
import { captureOutput } from "../../support/output.js";
import { Capture } from "./capture.js";
import { IssuedValues, type ValueKind } from "./issued.js";
import { AWS_SECRET_KEY, ECR_HOST, ECR_ID, type LeakWorld, leakWorld, PROVIDER_TOKENS } from "./leak-world.js";
import { cliInProcess, type CliRun, cliSpawned, walkApi } from "./surfaces.js";

/**
 * The whole flow in the embedded runtime, everything it says recorded: refresh of the ECR registry
 * (twice), three versions of the htpasswd registry (the two before the last revoked once unused),
 * each delivered to a consumer of every kind, audit scans, fourteen versions of a scratch secret
 * (the oldest pruned by the vault), the CLI and the API read through. Returns what was issued and
 * the runtime's outputs; the files are read by the caller once the runtime has stopped.
 */

export const SCRATCH = "leak/scratch";
const LOCAL_CONSUMERS = 7;

export interface LeakRun {
  readonly world: LeakWorld;
  readonly runtime: EmbeddedRuntime;
  readonly capture: Capture;
  readonly issued: IssuedValues;
  readonly adminToken: string;
  /** Every process write (stdout, stderr, console) during the run. */
  readonly output: string[];
  readonly logLines: string[];
  readonly events: PullkeeperEvent[];
  readonly cli: CliRun[];
  /** The htpasswd registry's versions, oldest first, and the status /v2/ gave each login at the end. */
  readonly localVersions: string[];
  readonly finalStatus: Map<string, number>;
  readonly scratchValues: string[];
}

function kindOf(secret: string): ValueKind {
  if (secret === "pullkeeper/local" || secret === `pullkeeper/${ECR_ID}`) return "registry-login";
  if (secret === SCRATCH) return "stored-secret";
  return "provider-token";
}

export async function leakRun(): Promise<LeakRun> {
  const output = captureOutput({ console: true });
  // Every event and every queued delivery at its source, from the first one at start.
  const events: PullkeeperEvent[] = [];
  const publish = InProcessBus.prototype.publish;
  vi.spyOn(InProcessBus.prototype, "publish").mockImplementation(function (this: InProcessBus, batch) {
    events.push(...batch);
    return publish.call(this, batch);
  });
  const queued: unknown[] = [];
  const send = LocalDeliveryQueue.prototype.send;
  vi.spyOn(LocalDeliveryQueue.prototype, "send").mockImplementation(function (this: LocalDeliveryQueue, requests, options) {
    queued.push({ requests, options });
    return send.call(this, requests, options);
  });

  const world = await leakWorld();
  const capture = new Capture();
  const issued = new IssuedValues();
  for (const value of Object.values(PROVIDER_TOKENS)) issued.add(value, "provider-token", "the test's provider fakes");
  issued.add(AWS_SECRET_KEY, "provider-token", "AWS_SECRET_ACCESS_KEY");
  const logLines: string[] = [];
  const runtime = await EmbeddedRuntime.start({ configPath: world.configPath, stateDir: world.stateDir, port: 0, htpasswdCost: 4, log: (line) => logLines.push(line), delivery: { baseBackoffMs: 50 } });
  const baseUrl = runtime.server?.url as string;
  const port = Number(new URL(baseUrl).port);
  const adminToken = (await readFile(runtime.adminTokenPath, "utf8")).trim();
  issued.add(adminToken, "admin-token", "admin-token");
  const to = { configPath: world.configPath, stateDir: world.stateDir, port };
  const cli: CliRun[] = [];
  const inProcess = async (...args: string[]) => {
    const run = await cliInProcess(capture, output, args, to);
    cli.push(run);
    return run;
  };

  const vault = join(world.stateDir, "vault");
  const current = async (registry: string) => (await runtime.ledger.registryState(registry))?.current?.versionId;
  const settled = (registry: string, versionId: string, count: number) =>
    eventually(async () => {
      const page = await runtime.ledger.consumerDeliveries(registry, { limit: 100 });
      const done = page.items.filter((d: ConsumerDelivery) => d.versionId === versionId && d.deliveredVersionId === versionId);
      return done.length === count ? true : undefined;
    }, 30_000, `${registry}'s consumers holding ${versionId}`);
  /** What consumers and registries received, and the vault's every version, now. */
  const harvest = async (step: string) => {
    await issued.fromVault(vault, kindOf);
    await issued.fromDockerConfig(world.dockerConfig, world.host, "registry-login", `docker config after ${step}`);
    await issued.fromDockerConfig(world.ecrDockerConfig, ECR_HOST, "registry-login", `ECR docker config after ${step}`);
    for (const [collection, name] of [["/repos/acme/app/codespaces/secrets", "LOCAL_CONTAINER_REGISTRY_PASSWORD"], ["/repos/acme/app/environments/production/secrets", "LOCAL_REGISTRY_PASSWORD"], ["/orgs/acme/dependabot/secrets", "REGISTRY_PASSWORD"]] as const) {
      issued.add(world.github.value(collection, name) ?? "", "registry-login", `GitHub ${name} after ${step}`);
    }
    for (const s of world.gitpod.secrets) issued.add(s.value.split(/:(.*)/s)[1] ?? "", "registry-login", `Gitpod ${s.name} after ${step}`, s.value.split(":")[0]);
    for (const p of world.ecr.minted) issued.add(p, "registry-login", "minted by the fake ECR", "AWS");
  };

  // ---- at start: the first rotation and the first ECR refresh, delivered ---------------------
  const localVersions = [await eventually(() => current("local"), 30_000, "the first rotation")];
  await settled("local", localVersions[0] as string, LOCAL_CONSUMERS);
  await settled(ECR_ID, await eventually(() => current(ECR_ID), 30_000, "the first ECR refresh"), 1);
  await harvest("the first rotation");

  // ---- two more rotations: each delivered, scanned, the previous one revoked -----------------
  const loginOf = async (versionId: string) => (await runtime.vault.read("pullkeeper/local", { versionId })).credential;
  for (const how of ["cli", "api"] as const) {
    const previous = localVersions.at(-1) as string;
    if (how === "cli") await inProcess("refresh", "--registry", "local", "--force", "--json");
    else capture.add("api POST /v1/registries/local/refresh?force=true", await (await fetch(`${baseUrl}/v1/registries/local/refresh?force=true`, { method: "POST", headers: { authorization: `Bearer ${adminToken}` } })).text());
    const next = await eventually(async () => ((await current("local")) !== previous ? current("local") : undefined), 30_000, "the rotation");
    localVersions.push(next as string);
    await settled("local", next as string, LOCAL_CONSUMERS);
    await harvest(`rotation to ${next}`);
    // A scan counts only past the clock-skew allowance (1 s) after the deliveries.
    await new Promise((r) => setTimeout(r, 1_200));
    if (how === "cli") await inProcess("audit", "--scan", "--json");
    else capture.add("api POST /v1/environments/scan", await (await fetch(`${baseUrl}/v1/environments/scan`, { method: "POST", headers: { authorization: `Bearer ${adminToken}` } })).text());
    const old = await loginOf(previous);
    await eventually(async () => ((await basicStatus(`http://${world.host}`, old.username, old.password.reveal())) === 401 ? true : undefined), 20_000, `${previous} revoked`);
  }

  // ---- the ECR token refreshed again -----------------------------------------------------------
  const ecrBefore = await current(ECR_ID);
  await inProcess("refresh", "--registry", ECR_ID, "--force");
  const ecrNext = await eventually(async () => ((await current(ECR_ID)) !== ecrBefore ? current(ECR_ID) : undefined), 30_000, "the ECR refresh");
  await settled(ECR_ID, ecrNext as string, 1);
  await harvest("the second ECR refresh");

  // ---- a scratch secret written 14 times: the vault keeps 10 unlabelled versions, so 2 are pruned.
  // The first through the bin as a user runs it (a child process, next to a wrong call), the
  // second through the CLI in this process reading a file, the rest through the route they use.
  const scratchValues = Array.from({ length: 14 }, (_, i) => `scratch~${i}-${crypto.randomUUID()}?>`);
  for (const [i, value] of scratchValues.entries()) issued.add(value, "stored-secret", `written by the test (${i})`, "scratch");
  cli.push(
    ...(await Promise.all([
      cliSpawned(capture, ["secret", "put", SCRATCH, "--username", "scratch", "--password-stdin", "--json"], to, scratchValues[0]),
      cliSpawned(capture, ["audit", "--verdict", "purple"], to),
    ])),
  );
  const valueFile = join(world.dir, "scratch-value");
  await writeFile(valueFile, scratchValues[1] as string, { mode: 0o600 });
  await inProcess("secret", "put", SCRATCH, "--username", "scratch", "--from-file", valueFile);
  // The user's own file, not pullkeeper's output: gone before the work directory is read.
  await rm(valueFile);
  await issued.fromVault(vault, kindOf);
  for (const [i, value] of scratchValues.entries()) {
    if (i < 2) continue;
    const r = await fetch(`${baseUrl}/local/v1/secrets/${encodeURIComponent(SCRATCH)}`, { method: "PUT", headers: { authorization: `Bearer ${adminToken}` }, body: JSON.stringify({ username: "scratch", password: value }) });
    capture.add(`PUT /local/v1/secrets/${SCRATCH} (${i})`, `${r.status} ${await r.text()}`);
    await issued.fromVault(vault, kindOf);
  }

  // A malformed body holding a value: the refusal must not quote it.
  const malformed = `malformed~${crypto.randomUUID()}?>`;
  issued.add(malformed, "stored-secret", "sent only in malformed bodies", "scratch");
  for (const body of [`{"username":"scratch","password":"${malformed}"`, `["${malformed}"]`, `{"username":"scratch","password":7,"note":"${malformed}"}`, `{"username":"","password":"${malformed}"}`, malformed]) {
    const r = await fetch(`${baseUrl}/local/v1/secrets/${encodeURIComponent(SCRATCH)}`, { method: "PUT", headers: { authorization: `Bearer ${adminToken}` }, body });
    capture.add(`PUT /local/v1/secrets/${SCRATCH} malformed → ${r.status}`, await r.text());
  }

  // ---- the CLI's read commands with and without --json, and wrong ones, in this process ---------
  for (const args of [["status"], ["status", "--json"], ["consumers"], ["consumers", "--json"], ["audit"], ["audit", "--json"], ["history", "local"], ["history", "local", "--json", "--limit", "100"], ["history", ECR_ID, "--json"], ["versions", "local"], ["versions", "local", "--json"], ["versions", ECR_ID, "--json"], ["secret", "list"], ["secret", "list", "--json"], ["propagate", "--registry", "local", "--timeout", "10", "--json"], ["history", "nope"], ["versions", "nope", "--json"], ["rollback", "--registry", "nope", "--json"], ["no-such-command", "--json"], ["secret", "put", SCRATCH, "--username", "scratch"], ["secret", "put", SCRATCH, "--from-file", join(world.dir, "missing")], ["history", "local", "--limit", "x"]]) {
    await inProcess(...args);
  }

  // ---- every GET route of the API, the dashboard -----------------------------------------------
  await walkApi(capture, baseUrl, adminToken);

  const finalStatus = new Map<string, number>();
  for (const versionId of localVersions) {
    const login = await loginOf(versionId);
    finalStatus.set(versionId, await basicStatus(`http://${world.host}`, login.username, login.password.reveal()));
  }
  await runtime.bus.drain();
  capture.add("bus dead letters", runtime.bus.deadLetters);
  capture.add("delivery queue dead letters", runtime.queue.deadLetters);
  capture.add("delivery queue messages", queued);
  await runtime.stop();
  return { world, runtime, capture, issued, adminToken, output, logLines, events, cli, localVersions, finalStatus, scratchValues };
}
