import type { Credential } from "@pullkeeper/core";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EmbeddedRuntime } from "../../packages/local/src/runtime.js";
import { LocalVault } from "../../packages/local/src/vault/local-vault.js";
import { type CredentialRegistry, startCredentialRegistry } from "../support/credential-registry.js";
import { FakeGoogle, TEST_PROVIDER, TEST_SERVICE_ACCOUNT } from "../support/fake-google.js";
import { eventually } from "./support/harness.js";
import { api } from "./support/safe-rotation-world.js";

/**
 * Issue 14's "Done means" for the Google Artifact Registry source, in the embedded runtime: the
 * refresh function signs its AWS identity (credentials from the environment, made up) and the fake
 * Google (STS and IAM Credentials, every request checked against their discovery documents) turns
 * it into a service account's access token, installed in a real docker-registry as a login of
 * `oauth2accesstoken`. Minted at start and twice on demand: both docker-config consumers receive
 * each token, the registry accepts it; a token stops working when it expires (nothing revokes it).
 * A federation that does not trust the function (a wrong provider, a denied impersonation), a 429
 * and an outage each fail the refresh with their own code, and leave the current token current,
 * delivered and working.
 */

const CONSUMERS = ["laptop", "runner"];
const AWS_ENV = { AWS_ACCESS_KEY_ID: "AKIAFAKEE2EGOOGLE001", AWS_SECRET_ACCESS_KEY: "made-up-secret-for-the-e2e", AWS_SESSION_TOKEN: "made-up-session-for-the-e2e", AWS_REGION: "eu-west-1" };
const MINUTE = 60_000;

interface World {
  readonly dir: string;
  readonly stateDir: string;
  readonly registry: CredentialRegistry;
  readonly google: FakeGoogle;
  runtime?: EmbeddedRuntime;
}

let world: World;
let baseUrl: string;
const savedEnv: Record<string, string | undefined> = {};

const vault = () => new LocalVault({ dir: join(world.stateDir, "vault") });
const current = async (): Promise<Credential & { versionId: string }> => {
  const stored = await vault().read("pullkeeper/gar", { stage: "AWSCURRENT" });
  return Object.assign(stored.credential, { versionId: stored.versionId });
};
const opens = (c: Credential) => world.registry.basic(c.username, c.password.reveal());
/** The login each consumer's docker config holds for the registry (a generic registry is keyed by its host). */
async function held(id: string): Promise<{ username: string; password: string }> {
  const config = JSON.parse(await readFile(join(world.dir, `${id}.json`), "utf8")) as { auths: Record<string, { auth: string }> };
  const [username = "", password = ""] = Buffer.from(config.auths[world.registry.host]?.auth ?? "", "base64").toString("utf8").split(/:(.*)/s);
  return { username, password };
}
const allHold = (c: Credential) =>
  eventually(async () => {
    const logins = await Promise.all(CONSUMERS.map((id) => held(id).catch(() => undefined)));
    return logins.every((l) => l?.password === c.password.reveal() && l.username === c.username) ? true : undefined;
  }, 60_000, "every consumer holding the current token");
type Result = { outcome: string; versionId?: string; step?: string; code?: string; message?: string };
const refresh = async (): Promise<{ status: number; result: Result | undefined; body: Record<string, unknown> }> => {
  const answer = await api(baseUrl, world.stateDir, "POST", "/v1/registries/gar/refresh?force=true");
  return { ...answer, result: (answer.body.results as Result[] | undefined)?.[0] };
};

beforeAll(async () => {
  for (const [key, value] of Object.entries(AWS_ENV)) {
    savedEnv[key] = process.env[key];
    process.env[key] = value;
  }
  const dir = await mkdtemp(join(tmpdir(), "pullkeeper-google-e2e-"));
  const registry = await startCredentialRegistry();
  const google = await FakeGoogle.start(registry, { provider: TEST_PROVIDER, serviceAccounts: [TEST_SERVICE_ACCOUNT] });
  world = { dir, stateDir: join(dir, ".pullkeeper"), registry, google };
  const configPath = join(dir, "pullkeeper.yaml");
  await writeFile(
    configPath,
    `registries:
  - id: gar
    host: ${registry.host}
    kind: generic
    source:
      type: gar-token
      serviceAccount: ${TEST_SERVICE_ACCOUNT}
      workloadIdentityProvider: ${TEST_PROVIDER}
      api: { sts: "${google.url}", iamCredentials: "${google.url}" }
    secret: pullkeeper/gar
    verify: { endpoint: "${registry.url}" }
consumers:
${CONSUMERS.map((id) => `  - id: ${id}\n    registry: gar\n    target: { kind: docker-config, path: ${join(dir, `${id}.json`)} }\n`).join("")}settings:
  auditSchedule: rate(1 day)
  clockSkew: 1s
`,
  );
  await mkdir(world.stateDir, { recursive: true, mode: 0o700 });
  world.runtime = await EmbeddedRuntime.start({ configPath, stateDir: world.stateDir, port: 0, log: () => undefined });
  baseUrl = world.runtime.server?.url as string;
}, 120_000);

afterAll(async () => {
  await world?.runtime?.stop();
  await world?.google.close();
  await world?.registry.stop();
  if (world) await rm(world.dir, { recursive: true, force: true });
  for (const [key, value] of Object.entries(savedEnv)) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
});

describe("the Google Artifact Registry source in the embedded runtime (issue 14, Done means)", () => {
  it("mints at start and twice on demand: each token reaches every consumer and opens the registry; an expired one no longer does", { timeout: 240_000 }, async () => {
    const v1 = await eventually(async () => (await world.runtime?.ledger.registryState("gar"))?.current?.versionId, 60_000, "the first refresh");
    const first = await current();
    expect(first.versionId).toBe(v1);
    expect(first.username).toBe("oauth2accesstoken");
    expect(await opens(first)).toBe(200);
    await allHold(first);
    // The subject token named this function's (environment's) AWS identity, bound to the configured provider.
    expect(world.google.requests.find((r) => r.subject !== undefined)?.subject).toEqual({ accessKeyId: AWS_ENV.AWS_ACCESS_KEY_ID, region: "eu-west-1", targetResource: TEST_PROVIDER, session: true });

    // Google's clock moves on 40 minutes: the next tokens expire 40 minutes after the first.
    await world.google.tick(world.google.now + 40 * MINUTE);
    let previous = first;
    for (let round = 0; round < 2; round++) {
      const answer = await refresh();
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      expect(answer.result, JSON.stringify(answer.body)).toMatchObject({ outcome: "refreshed" });
      const next = await current();
      expect(next.versionId).toBe(answer.result?.versionId);
      expect(next.password.reveal()).not.toBe(previous.password.reveal());
      expect(await opens(next)).toBe(200);
      await allHold(next);
      // Nothing revokes a Google access token: the previous one works until it expires.
      expect(await opens(previous)).toBe(200);
      previous = next;
    }
    const state = await world.runtime?.ledger.registryState("gar");
    expect(state?.current?.expiresAt?.getTime()).toBe(world.google.tokens.at(-1)?.expiresAtMs);

    // The first token's hour is up: the registry refuses it, and the current one still opens it.
    await world.google.tick(world.google.tokens[0]?.expiresAtMs ?? 0);
    expect(await opens(first)).toBe(401);
    expect(await opens(previous)).toBe(200);
    expect(world.google.tokens.map((t) => t.serviceAccount)).toEqual([TEST_SERVICE_ACCOUNT, TEST_SERVICE_ACCOUNT, TEST_SERVICE_ACCOUNT]);
    expect(world.google.tokens.every((t) => t.scope.join() === "https://www.googleapis.com/auth/cloud-platform")).toBe(true);
    expect(world.google.violations).toEqual([]);
  });

  const faults = [
    {
      name: "a provider that is not the pool's (400 invalid_target)",
      code: "admin_rejected",
      arrange: () => {
        world.google.provider = TEST_PROVIDER.replace("aws-prod", "aws-other");
      },
      restore: async () => {
        world.google.provider = TEST_PROVIDER;
      },
    },
    {
      name: "a denied impersonation (403 PERMISSION_DENIED)",
      code: "admin_rejected",
      arrange: () => world.google.serviceAccounts.delete(TEST_SERVICE_ACCOUNT),
      restore: async () => void world.google.serviceAccounts.add(TEST_SERVICE_ACCOUNT),
    },
    { name: "throttling (429, Retry-After)", code: "provider_throttled", arrange: () => world.google.failNext({ status: 429, headers: { "retry-after": "1" } }), restore: () => new Promise<void>((r) => setTimeout(r, 1_200)) },
    { name: "an outage (503)", code: "provider_unavailable", arrange: () => world.google.failNext({ status: 503 }), restore: async () => undefined },
  ];
  for (const fault of faults) {
    it(`${fault.name}: the refresh fails as ${fault.code}, and the current token stays current, delivered and working`, { timeout: 60_000 }, async () => {
      const before = await current();
      const minted = world.google.tokens.length;
      fault.arrange();
      const answer = await refresh();
      await fault.restore();
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      expect(answer.result, JSON.stringify(answer.body)).toMatchObject({ outcome: "failed", step: "mint", code: fault.code });
      expect(String(answer.result?.message)).toMatch(/Google/);
      expect(JSON.stringify(answer.body)).not.toContain(before.password.reveal());
      const after = await current();
      expect(after.versionId).toBe(before.versionId);
      expect(await opens(after)).toBe(200);
      for (const id of CONSUMERS) expect((await held(id)).password === before.password.reveal(), `${id} still holds the current token`).toBe(true);
      expect(world.google.tokens.length).toBe(minted);
    });
  }

  it("after the faults, a refresh goes through again, and no request departed from Google's descriptions", { timeout: 120_000 }, async () => {
    const before = await current();
    const answer = await refresh();
    expect(answer.result, JSON.stringify(answer.body)).toMatchObject({ outcome: "refreshed" });
    const after = await current();
    expect(after.versionId).not.toBe(before.versionId);
    await allHold(after);
    expect(await opens(after)).toBe(200);
    expect(world.google.violations).toEqual([]);
  });
});
