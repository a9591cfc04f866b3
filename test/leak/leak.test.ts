import { appendFile, mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type Artifact, Capture, searchLeaks } from "./support/capture.js";
import type { Issued } from "./support/issued.js";
import { PROVIDER_TOKENS } from "./support/leak-world.js";
import { findValue } from "./support/leak-matcher.js";
import { type LeakRun, leakRun, SCRATCH } from "./support/leak-run.js";
import { captureLedger } from "./support/stored.js";

/**
 * Issue 15, "Secrets never leak": the whole flow in the embedded runtime (an ECR refresh, three
 * versions of an htpasswd registry delivered to a consumer of every kind, audit scans,
 * revocations, vault versions pruned), then every byte it produced — log lines, process output,
 * events, queued deliveries, ledger items (Scan, LevelDB entries and raw files), every file under
 * the state and work directories, every API answer, the dashboard, the CLI's output and errors,
 * the fakes' request logs — searched for every credential value the run issued, in every
 * encoding. Values may be only where they belong: the vault's encrypted files, and the copy a
 * consumer or provider legitimately holds.
 */

let run: LeakRun;
const files = new Capture();

/** The vault's secret-value storage: exactly its key and its encrypted documents. */
const VAULT_FILE = /^vault\/(vault\.key|secrets\/[0-9a-f]{64}\.enc)$/;
const anyValue = () => true;
const registryLogins = (i: Issued) => i.kind === "registry-login";
const only = (value: string) => (i: Issued) => i.value === value;

/** The state directory, every file byte for byte: values only in the vault, the admin token only in its file. */
async function captureStateDir(capture: Capture, stateDir: string): Promise<number> {
  return capture.addTree(stateDir, "state", (rel) => (VAULT_FILE.test(rel) ? anyValue : rel === "admin-token" ? (i) => i.kind === "admin-token" : undefined));
}

beforeAll(async () => {
  run = await leakRun();
  const { world, capture } = run;
  capture.add("runtime log lines", run.logLines.join("\n"));
  capture.add("process stdout, stderr and console", run.output.join(""));
  capture.add("bus events", run.events);
  // Raw files first: reopening LevelDB turns its write-ahead log into a compressed table.
  await captureStateDir(files, world.stateDir);
  await captureLedger(files, world.stateDir);
  await files.addTree(join(world.stateDir, "dynamo"), "dynamo reopened");
  // The work directory: the config, the consumers' docker configs, the kubeconfig, the served registry's htpasswd.
  await files.addTree(
    world.dir,
    "work",
    (rel) => (rel === "docker/config.json" || rel === "ecr-docker/config.json" ? registryLogins : rel === "kubeconfig" ? only(PROVIDER_TOKENS.kube) : undefined),
    (rel) => rel.startsWith(".pullkeeper/"), // the state directory, read above with its own rules
  );
  // The fakes' request logs: each provider legitimately receives its own token, and Kubernetes the
  // pull secret it stores; GitHub gets values sealed, the webhook and ECR's API none at all.
  capture.add("fake GitHub requests", world.github.requests, only(PROVIDER_TOKENS.github));
  for (const [i, r] of world.kube.requests.entries()) {
    const storesTheSecret = /\/secrets(\/|$)/.test(r.path) && r.method !== "GET";
    capture.add(`fake Kubernetes request ${i} ${r.method} ${r.path}`, r, (v) => v.value === PROVIDER_TOKENS.kube || (storesTheSecret && v.kind === "registry-login"));
  }
  for (const [i, r] of world.gitpodRequests.entries()) {
    const storesTheSecret = /SecretService\/(CreateSecret|UpdateSecretValue)$/.test(r.url);
    capture.add(`fake Gitpod request ${i} ${r.url}`, r, (v) => v.value === PROVIDER_TOKENS.gitpod || (storesTheSecret && v.kind === "registry-login"));
  }
  capture.add("webhook receiver requests", world.webhook.server.received);
  capture.add("fake ECR API requests", world.ecr.api.received);
  capture.add("ECR registry stand-in requests", world.ecr.registry.received, registryLogins);
}, 180_000); // 50–70 s measured on a busy 2-CPU machine; generous so load alone never fails it (speed is the bench's business)

afterAll(async () => {
  // PULLKEEPER_LEAK_DUMP=<dir>: every captured artifact written there, to read what was searched.
  const dump = process.env.PULLKEEPER_LEAK_DUMP;
  if (dump && run) {
    await mkdir(dump, { recursive: true });
    for (const [i, a] of everything().entries()) await writeFile(join(dump, `${String(i).padStart(4, "0")}-${a.where.replace(/[^\w.-]+/g, "_").slice(0, 120)}`), a.bytes);
  }
  vi.restoreAllMocks();
  await run?.world.close();
});

const everything = (): Artifact[] => [...run.capture.artifacts, ...files.artifacts];

describe("secrets never leak (issue 15)", () => {
  it("ran the whole flow: refreshes, rotations delivered everywhere, revocations, scans, pruned vault versions", () => {
    const { issued, localVersions, finalStatus, world, scratchValues } = run;
    expect(localVersions).toHaveLength(3);
    // The two earlier logins were revoked once unused; the current one opens the registry.
    expect(localVersions.map((v) => finalStatus.get(v))).toEqual([401, 401, 200]);
    expect(world.ecr.minted.length).toBeGreaterThanOrEqual(2);
    expect(world.ecr.minted.every((p) => (world.ecr.accepted.get(p) ?? 0) > 0)).toBe(true);
    expect(run.events.map((e) => e.type)).toEqual(expect.arrayContaining(["Credential Rotated", "Credential Revoked"]));
    expect(world.webhook.receipts.length).toBe(3);
    // Each htpasswd version was seen by consumers and in the vault; each scratch value too.
    const registry = issued.all.filter((i) => i.kind === "registry-login");
    expect(registry.length).toBeGreaterThanOrEqual(3 + world.ecr.minted.length);
    for (const v of registry.filter((i) => !i.value.startsWith("ecr~"))) {
      expect([...v.seenIn].some((s) => s.startsWith("vault ")) && [...v.seenIn].some((s) => s.startsWith("docker config")), [...v.seenIn].join("; ")).toBe(true);
    }
    for (const value of scratchValues) expect(issued.has(value)).toBe(true);
    expect(run.cli.filter((c) => c.code !== 0).length).toBeGreaterThanOrEqual(6);
    // Every malformed body was refused, so its value was only ever on the wire.
    expect(run.capture.artifacts.filter((a) => a.where.includes("malformed")).map((a) => a.where.slice(-3))).toEqual(["400", "400", "400", "400", "400"]);
    // The consumer that cannot be written to failed, with its cause on record (and searched).
    expect(run.capture.artifacts.some((a) => a.where === "cli (in process) pullkeeper consumers --json → exit 0" && /ecr-broken[\s\S]*failed/.test(a.bytes.toString()))).toBe(true);
  });

  it("the vault pruned the oldest scratch versions, whose values are still searched for", async () => {
    const { runtime, scratchValues, issued } = run;
    const listing = (await runtime.vault.list()).find((s) => s.name === SCRATCH);
    expect(listing?.versions).toHaveLength(12);
    const pruned = scratchValues.slice(0, 2);
    for (const value of pruned) expect([...(issued.all.find((i) => i.value === value)?.seenIn ?? [])].some((s) => s.startsWith(`vault ${SCRATCH}`))).toBe(true);
  });

  it("no issued value, in any encoding, is anywhere it does not belong", () => {
    const findings = searchLeaks(everything(), run.issued.all);
    expect(findings.map((f) => `${f.where}: ${run.issued.all.find((i) => i.value === f.value)?.kind} value in ${f.form} at ${f.offset}`)).toEqual([]);
    // What was searched, so a capture that silently came back empty fails here.
    const where = everything().map((a) => a.where);
    for (const expected of [/^state\/dynamo\//, /^DynamoDB Scan/, /^LevelDB entries/, /^api GET \/v1\/registries\/local\/history/, /^api GET \/dashboard\.js/, /^cli \(in process\) pullkeeper no-such-command/, /^cli pullkeeper audit --verdict purple/, /^cli \(in process\) pullkeeper secret list --json/, /^work\/registry\/htpasswd$/, /^bus events$/, /^fake Gitpod request \d+ .*UpdateSecretValue$/, /^api POST \/v1\/consumers\/docker-login\/redeliver/, /^PUT \/local\/v1\/secrets\/leak\/scratch malformed → 400/]) {
      expect(where.some((w) => expected.test(w)), String(expected)).toBe(true);
    }
    expect(run.logLines.length).toBeGreaterThan(0);
  });

  it("sees values where they legitimately are: the search is not blind to these captures", () => {
    const last = run.localVersions.at(-1);
    const current = run.issued.all.find((i) => [...i.seenIn].includes(`vault pullkeeper/local ${last}`));
    expect(current).toBeDefined();
    const dockerConfig = files.artifacts.find((a) => a.where === "work/docker/config.json");
    expect(findValue(dockerConfig?.bytes ?? Buffer.alloc(0), current?.value ?? "", current?.username).map((f) => f.form)).toContain("docker-auth");
    const kubeconfig = files.artifacts.find((a) => a.where === "work/kubeconfig");
    expect(findValue(kubeconfig?.bytes ?? Buffer.alloc(0), PROVIDER_TOKENS.kube).length).toBeGreaterThan(0);
    const ledger = files.artifacts.filter((a) => a.where.startsWith("DynamoDB Scan")).map((a) => a.bytes.toString()).join("");
    expect(ledger).toContain(run.localVersions[0]);
  });

  it("negative control: a pruned value planted in a file of the state directory is found, in the encoding it was planted in", async () => {
    const { world, issued, scratchValues } = run;
    const pruned = scratchValues[0] as string;
    const planted = join(world.stateDir, "planted");
    await mkdir(planted, { recursive: true });
    // Inside a longer base64 blob (a log line quoting a docker config) and, JSON-escaped, appended to a raw LevelDB file.
    await writeFile(join(planted, "debug.log"), `debug body=${Buffer.from(JSON.stringify({ auths: { x: { note: `id:scratch:${pruned}` } } })).toString("base64")}\n`);
    // LevelDB's write-ahead log as it is now (reopening it started a new one).
    const ldbLog = (await readdir(join(world.stateDir, "dynamo"))).filter((f) => /^\d+\.log$/.test(f)).map((f) => `dynamo/${f}`)[0];
    expect(ldbLog).toBeDefined();
    const original = await readFile(join(world.stateDir, ldbLog as string));
    await appendFile(join(world.stateDir, ldbLog as string), JSON.stringify({ S: `leaked ${world.ecr.minted[0]}` }));
    try {
      const again = new Capture();
      await captureStateDir(again, world.stateDir);
      const findings = searchLeaks(again.artifacts, issued.all);
      expect(findings.map((f) => ({ where: f.where, value: f.value, form: f.form.replace(/@\d$/, "") }))).toEqual(
        expect.arrayContaining([
          { where: "state/planted/debug.log", value: pruned, form: "base64" },
          { where: `state/${ldbLog}`, value: world.ecr.minted[0], form: "raw" },
        ]),
      );
      expect(new Set(findings.map((f) => f.where))).toEqual(new Set(["state/planted/debug.log", `state/${ldbLog}`]));
    } finally {
      await rm(planted, { recursive: true, force: true });
      await writeFile(join(world.stateDir, ldbLog as string), original);
    }
  });
});
