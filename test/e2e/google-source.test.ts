import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EmbeddedRuntime } from "../../packages/local/src/runtime.js";
import { LocalVault } from "../../packages/local/src/vault/local-vault.js";
import { startCredentialRegistry } from "../support/credential-registry.js";
import { FakeGoogle, TEST_PROVIDER, TEST_SERVICE_ACCOUNT } from "../support/fake-google.js";
import { eventually } from "./support/harness.js";
import { api } from "./support/safe-rotation-world.js";
import { REFRESH_FAILURE, sourceFaultTests } from "./support/source-faults.js";
import { SOURCE_CONSUMERS, type SourceWorld } from "./support/source-world.js";

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

const AWS_ENV = { AWS_ACCESS_KEY_ID: "AKIAFAKEE2EGOOGLE001", AWS_SECRET_ACCESS_KEY: "made-up-secret-for-the-e2e", AWS_SESSION_TOKEN: "made-up-session-for-the-e2e", AWS_REGION: "eu-west-1" };
const MINUTE = 60_000;
const savedEnv: Record<string, string | undefined> = {};

/**
 * startSourceWorld's world, kept here for one difference: gar-token keeps no admin login (its
 * schema refuses `admin`, which startSourceWorld always writes), so there is no admin secret.
 * Every failed refresh here must have failed at the mint, the source's only provider step.
 */
async function startGoogleWorld(): Promise<SourceWorld<FakeGoogle>> {
  const dir = await mkdtemp(join(tmpdir(), "pullkeeper-google-e2e-"));
  const stateDir = join(dir, ".pullkeeper");
  const registry = await startCredentialRegistry();
  const google = await FakeGoogle.start(registry, { provider: TEST_PROVIDER, serviceAccounts: [TEST_SERVICE_ACCOUNT] });
  const id = "gar";
  await writeFile(
    join(dir, "pullkeeper.yaml"),
    `registries:
  - id: ${id}
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
${SOURCE_CONSUMERS.map((c) => `  - id: ${c}\n    registry: ${id}\n    target: { kind: docker-config, path: ${join(dir, `${c}.json`)} }\n`).join("")}settings:
  auditSchedule: rate(1 day)
  clockSkew: 1s
`,
  );
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  const runtime = await EmbeddedRuntime.start({ configPath: join(dir, "pullkeeper.yaml"), stateDir, port: 0, log: () => undefined });
  const vault = new LocalVault({ dir: join(stateDir, "vault") });
  const held: SourceWorld<FakeGoogle>["held"] = async (consumer) => {
    const config = JSON.parse(await readFile(join(dir, `${consumer}.json`), "utf8")) as { auths: Record<string, { auth: string }> };
    const [username = "", password = ""] = Buffer.from(config.auths[registry.host]?.auth ?? "", "base64").toString("utf8").split(/:(.*)/s);
    return { username, password };
  };
  return {
    dir,
    stateDir,
    registry,
    fake: google,
    runtime,
    id,
    current: async () => vault.read("pullkeeper/gar", { stage: "AWSCURRENT" }).then((s) => Object.assign(s.credential, { versionId: s.versionId })),
    opens: (c) => registry.basic(c.username, c.password.reveal()),
    held,
    allHold: async (c) => {
      const holding = async () => (await Promise.all(SOURCE_CONSUMERS.map((h) => held(h).catch(() => undefined)))).every((l) => l?.username === c.username && l.password === c.password.reveal());
      await eventually(async () => ((await holding()) ? true : undefined), 60_000, "every consumer holding the current token");
    },
    adminPassword: () => Promise.reject(new Error("gar-token keeps no admin login")),
    rotate: async () => {
      const answer = await api(runtime.server?.url as string, stateDir, "POST", `/v1/registries/${id}/refresh?force=true`);
      for (const r of (answer.body.results ?? []) as { outcome?: string; step?: string }[]) if (r.outcome === "failed") expect(r.step, JSON.stringify(answer.body)).toBe("mint");
      return answer;
    },
    stop: async () => {
      await runtime.stop();
      await google.close();
      await registry.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

let world: SourceWorld<FakeGoogle>;

beforeAll(async () => {
  for (const [key, value] of Object.entries(AWS_ENV)) {
    savedEnv[key] = process.env[key];
    process.env[key] = value;
  }
  world = await startGoogleWorld();
}, 120_000);

afterAll(async () => {
  await world?.stop();
  for (const [key, value] of Object.entries(savedEnv)) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
});

describe("the Google Artifact Registry source in the embedded runtime (issue 14, Done means)", () => {
  it("mints at start and twice on demand: each token reaches every consumer and opens the registry; an expired one no longer does", { timeout: 240_000 }, async () => {
    const v1 = await eventually(async () => (await world.runtime.ledger.registryState(world.id))?.current?.versionId, 60_000, "the first refresh");
    const first = await world.current();
    expect(first.versionId).toBe(v1);
    expect(first.username).toBe("oauth2accesstoken");
    expect(await world.opens(first)).toBe(200);
    await world.allHold(first);
    // The subject token named this function's (environment's) AWS identity, bound to the configured provider.
    expect(world.fake.requests.find((r) => r.subject !== undefined)?.subject).toEqual({ accessKeyId: AWS_ENV.AWS_ACCESS_KEY_ID, region: "eu-west-1", targetResource: TEST_PROVIDER, session: true });

    // Google's clock moves on 40 minutes: the next tokens expire 40 minutes after the first.
    await world.fake.tick(world.fake.now + 40 * MINUTE);
    let previous = first;
    for (let round = 0; round < 2; round++) {
      const answer = await world.rotate();
      expect(answer, JSON.stringify(answer.body)).toMatchObject({ status: 200, body: { results: [expect.objectContaining({ outcome: "refreshed" })] } });
      const next = await world.current();
      expect(next.versionId).toBe((answer.body.results as { versionId?: string }[])[0]?.versionId);
      expect(next.password.reveal()).not.toBe(previous.password.reveal());
      expect(await world.opens(next)).toBe(200);
      await world.allHold(next);
      // Nothing revokes a Google access token: the previous one works until it expires.
      expect(await world.opens(previous)).toBe(200);
      previous = next;
    }
    const state = await world.runtime.ledger.registryState(world.id);
    expect(state?.current?.expiresAt?.getTime()).toBe(world.fake.tokens.at(-1)?.expiresAtMs);

    // The first token's hour is up: the registry refuses it, and the current one still opens it.
    await world.fake.tick(world.fake.tokens[0]?.expiresAtMs ?? 0);
    expect(await world.opens(first)).toBe(401);
    expect(await world.opens(previous)).toBe(200);
    expect(world.fake.tokens.map((t) => t.serviceAccount)).toEqual([TEST_SERVICE_ACCOUNT, TEST_SERVICE_ACCOUNT, TEST_SERVICE_ACCOUNT]);
    expect(world.fake.tokens.every((t) => t.scope.join() === "https://www.googleapis.com/auth/cloud-platform")).toBe(true);
    expect(world.fake.violations).toEqual([]);
  });

  it("a denied impersonation (IAM 403 PERMISSION_DENIED): the refresh fails at the mint as admin_rejected, nothing is minted, and the current token stays current and working", { timeout: 60_000 }, async () => {
    const before = await world.current();
    const minted = world.fake.tokens.length;
    world.fake.serviceAccounts.delete(TEST_SERVICE_ACCOUNT);
    const answer = await world.rotate().finally(() => world.fake.serviceAccounts.add(TEST_SERVICE_ACCOUNT));
    expect(REFRESH_FAILURE(answer)).toMatchObject({ code: "admin_rejected", message: expect.stringMatching(/Google/) });
    expect(JSON.stringify(answer.body)).not.toContain(before.password.reveal());
    expect((await world.current()).versionId).toBe(before.versionId);
    expect(await world.opens(before)).toBe(200);
    expect(world.fake.tokens.length).toBe(minted);
  });

  // The wrong admin login of a minting source: a provider that is not the pool's (STS 400 invalid_target).
  sourceFaultTests(
    () => world,
    {
      rejectAdmin: () => {
        world.fake.provider = TEST_PROVIDER.replace("aws-prod", "aws-other");
      },
      acceptAdmin: () => {
        world.fake.provider = TEST_PROVIDER;
      },
      throttle: (seconds) => world.fake.failNext({ status: 429, headers: { "retry-after": String(seconds) } }),
      outage: () => world.fake.failNext({ status: 503 }),
      snapshot: () => world.fake.tokens.map((t) => ({ ...t })),
    },
    /Google/,
    REFRESH_FAILURE,
  );

  it("no request departed from Google's descriptions", () => {
    expect(world.fake.violations).toEqual([]);
  });
});
