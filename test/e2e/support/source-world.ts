import { credential, type Credential } from "@pullkeeper/core";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "vitest";
import { EmbeddedRuntime, type RuntimeOptions } from "../../../packages/local/src/runtime.js";
import { LocalVault } from "../../../packages/local/src/vault/local-vault.js";
import { type CredentialRegistry, startCredentialRegistry } from "../../support/credential-registry.js";
import { eventually } from "./harness.js";
import { api } from "./safe-rotation-world.js";

/**
 * The world of a source's end-to-end test (issue 14): a real docker-registry behind which the
 * provider's fake installs what it makes, one registry whose `source` is the source under test,
 * two docker-config consumers, the admin login (if the source has one) in the local vault, and the
 * embedded runtime.
 */

export const SOURCE_CONSUMERS = ["laptop", "runner"];
const ADMIN_SECRET = "pullkeeper/source-admin";
const SECRET = "pullkeeper/source-under-test";

export interface SourceUnderTest<Fake> {
  readonly fake: Fake;
  /** The registry entry's `kind`. */
  readonly kind: string;
  /** The `source:` block's keys as YAML lines, without `type`'s indentation (e.g. `type: dockerhub-token\norganization: acme`); `admin` is added if the source has one. */
  readonly source: string;
  /**
   * The admin login the fake accepts, stored as the source's `admin` secret. Absent for a source
   * that keeps none (gar-token, whose schema refuses `admin`): no `admin:` key, no admin secret.
   */
  readonly admin?: { readonly username: string; readonly password: string };
  stop(): Promise<void>;
}

export interface SourceWorld<Fake> {
  readonly dir: string;
  readonly stateDir: string;
  readonly registry: CredentialRegistry;
  readonly fake: Fake;
  readonly runtime: EmbeddedRuntime;
  /** The registry's id in the config. */
  readonly id: string;
  /** The current version in the vault. */
  current(): Promise<Version>;
  /** The staged (AWSPENDING) version, if any. */
  pending(): Promise<Version | undefined>;
  /** Waits for the first rotation (or refresh) at start, and returns it: current, opening the registry, held by every consumer. */
  first(): Promise<Version>;
  /** Waits until the ledger records the version revoked (just after the provider revoked it; the next rotation may need its slot free). */
  revoked(versionId: string): Promise<void>;
  /** With `recordOverlaps` (else undefined), what the registry answered each rotation's current and staged credential at testSecret (the first rotation skipped). */
  readonly overlaps: readonly Overlap[] | undefined;
  /** The status GET /v2/ answers this login with: 200 opens, 401 refused. */
  opens(c: Credential): Promise<number>;
  /** The login a consumer's docker config holds for the registry. */
  held(consumer: string): Promise<{ username: string; password: string }>;
  /** Waits until every consumer holds `c`. */
  allHold(c: Credential): Promise<void>;
  /** Whether the source logs in to its provider as an admin (an `admin` secret in the vault). */
  readonly hasAdmin: boolean;
  /** The admin secret's current value in the vault; throws for a source without one. */
  adminPassword(): Promise<string>;
  /** POST /v1/registries/<id>/refresh?force=true: a rotation (or, for a minting source, a refresh) now. */
  rotate(): Promise<{ status: number; body: Record<string, unknown> }>;
  stop(): Promise<void>;
}

export type Version = Credential & { versionId: string };

/** What the registry answered (200 opens, 401 refused) to both logins while a rotation was under way: testSecret done, not yet promoted. */
export interface Overlap {
  readonly versionId: string;
  readonly current: { readonly username: string; readonly status: number };
  readonly pending: { readonly username: string; readonly status: number };
}

export type SourceWorldOptions = Partial<Omit<RuntimeOptions, "configPath" | "stateDir" | "port" | "log">> & {
  /**
   * Record each rotation's overlap into `world.overlaps`: at the testSecret step the rotation still
   * holds the registry's lock (nothing is revoked before finishSecret), so what the registry says to
   * the current and to the staged credential then is what consumers meet during the overlap.
   */
  readonly recordOverlaps?: boolean;
};

/**
 * Starts the registry, then the fake over it (`start`), then the runtime over a config naming both.
 * `options`: more of the runtime's options (a hook after each rotation step, say), and `recordOverlaps`.
 */
export async function startSourceWorld<Fake>(
  start: (registry: CredentialRegistry) => Promise<SourceUnderTest<Fake>>,
  { recordOverlaps = false, ...runtime }: SourceWorldOptions = {},
): Promise<SourceWorld<Fake>> {
  const dir = await mkdtemp(join(tmpdir(), "pullkeeper-source-e2e-"));
  const stateDir = join(dir, ".pullkeeper");
  const registry = await startCredentialRegistry();
  const under = await start(registry);
  const id = "under-test";
  const indent = (text: string, by: string) => text.trim().split("\n").map((line) => `${by}${line}`).join("\n");
  await writeFile(
    join(dir, "pullkeeper.yaml"),
    `registries:
  - id: ${id}
    host: ${registry.host}
    kind: ${under.kind}
    source:
${indent(under.admin ? `${under.source}\nadmin: ${ADMIN_SECRET}` : under.source, "      ")}
    secret: ${SECRET}
    verify: { endpoint: "${registry.url}" }
consumers:
${SOURCE_CONSUMERS.map((c) => `  - id: ${c}\n    registry: ${id}\n    target: { kind: docker-config, path: ${join(dir, `${c}.json`)} }\n`).join("")}settings:
  auditSchedule: rate(1 day)
  clockSkew: 1s
`,
  );
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  const vault = () => new LocalVault({ dir: join(stateDir, "vault") });
  if (under.admin) await vault().createSecret(ADMIN_SECRET, credential(under.admin.username, under.admin.password));

  const current = async (): Promise<Version> => {
    const stored = await vault().read(SECRET, { stage: "AWSCURRENT" });
    return Object.assign(stored.credential, { versionId: stored.versionId });
  };
  const pending = async (): Promise<Version | undefined> => {
    const stored = await vault().read(SECRET, { stage: "AWSPENDING" }).catch(() => undefined);
    return stored && Object.assign(stored.credential, { versionId: stored.versionId });
  };
  const opens = (c: Credential) => registry.basic(c.username, c.password.reveal());
  const overlaps: Overlap[] = [];
  const afterRotationStep: RuntimeOptions["afterRotationStep"] = recordOverlaps
    ? async (step, token) => {
        if (step === "testSecret") {
          const now = await current().catch(() => undefined);
          const staged = await pending();
          // The first rotation has no current credential to overlap with.
          if (now !== undefined && now.versionId !== token) {
            overlaps.push({
              versionId: token,
              current: { username: now.username, status: await opens(now) },
              pending: { username: staged?.username ?? "", status: staged ? await opens(staged) : 0 },
            });
          }
        }
        await runtime.afterRotationStep?.(step, token);
      }
    : runtime.afterRotationStep;
  const running = await EmbeddedRuntime.start({ ...runtime, ...(afterRotationStep && { afterRotationStep }), configPath: join(dir, "pullkeeper.yaml"), stateDir, port: 0, log: () => undefined });
  const baseUrl = running.server?.url as string;

  const held = async (consumer: string) => {
    const config = JSON.parse(await readFile(join(dir, `${consumer}.json`), "utf8")) as { auths: Record<string, { auth: string }> };
    // One registry per file: whatever key the docker-config target wrote it under (Docker Hub's is not the host).
    const [entry] = Object.values(config.auths);
    const [username = "", password = ""] = Buffer.from(entry?.auth ?? "", "base64").toString("utf8").split(/:(.*)/s);
    return { username, password };
  };
  const allHold = async (c: Credential) => {
    await eventually(async () => {
      const logins = await Promise.all(SOURCE_CONSUMERS.map((consumer) => held(consumer).catch(() => undefined)));
      return logins.every((l) => l?.username === c.username && l.password === c.password.reveal()) ? true : undefined;
    }, 60_000, "every consumer holding the current credential");
  };
  return {
    dir,
    stateDir,
    registry,
    fake: under.fake,
    runtime: running,
    id,
    current,
    pending,
    first: async () => {
      const v1 = await eventually(async () => (await running.ledger.registryState(id))?.current?.versionId, 60_000, "the first rotation");
      const first = await current();
      expect(first.versionId).toBe(v1);
      expect(await opens(first)).toBe(200);
      await allHold(first);
      return first;
    },
    revoked: async (versionId) => {
      await eventually(async () => ((await running.ledger.version(id, versionId))?.revoked ? true : undefined), 30_000, `version ${versionId} recorded revoked`);
    },
    overlaps: recordOverlaps ? overlaps : undefined,
    opens,
    held,
    allHold,
    hasAdmin: under.admin !== undefined,
    adminPassword: async () => {
      if (!under.admin) throw new Error(`the source (${under.kind}) keeps no admin login`);
      return (await vault().read(ADMIN_SECRET, { stage: "AWSCURRENT" })).credential.password.reveal();
    },
    rotate: () => api(baseUrl, stateDir, "POST", `/v1/registries/${id}/refresh?force=true`),
    stop: async () => {
      await running.stop();
      await under.stop();
      await registry.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Rotates twice on demand, from the current version: each rotation answers `rotated` with a new
 * credential that opens the registry and reaches every consumer; once nothing holds the previous
 * one (docker-config consumers list no environments) the registry refuses it and the ledger records
 * it revoked, while the new one still opens the registry; with `recordOverlaps`, both opened it
 * during the overlap. `check`: the source's own checks of each round (the provider revoked
 * `previous`, `next` is the other slot…). Returns the last version.
 */
export async function rotatesTwice<Fake>(world: SourceWorld<Fake>, check: (previous: Version, next: Version, round: number) => void | Promise<void>): Promise<Version> {
  let previous = await world.current();
  for (let round = 0; round < 2; round++) {
    const rotated = await world.rotate();
    expect(rotated, JSON.stringify(rotated.body)).toMatchObject({ status: 200, body: { outcome: "rotated" } });
    const next = await world.current();
    expect(next.versionId).toBe(rotated.body.versionId);
    expect(next.password.reveal() === previous.password.reveal(), "the new credential is the previous one").toBe(false);
    if (world.overlaps) {
      const overlap = world.overlaps.find((o) => o.versionId === next.versionId);
      expect(overlap, "both credentials open the registry during the overlap").toEqual({ versionId: next.versionId, current: { username: previous.username, status: 200 }, pending: { username: next.username, status: 200 } });
    }
    expect(await world.opens(next)).toBe(200);
    await world.allHold(next);
    await expect.poll(() => world.opens(previous), { timeout: 30_000, interval: 200 }).toBe(401);
    await world.revoked(previous.versionId);
    await check(previous, next, round);
    expect(await world.opens(next)).toBe(200);
    previous = next;
  }
  return previous;
}
