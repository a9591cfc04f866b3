import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeGoogle, TEST_PROVIDER, TEST_SERVICE_ACCOUNT } from "../support/fake-google.js";
import { REFRESH_FAILURE, sourceFaultTests } from "./support/source-faults.js";
import { type SourceWorld, startSourceWorld } from "./support/source-world.js";

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

let world: SourceWorld<FakeGoogle>;

beforeAll(async () => {
  for (const [key, value] of Object.entries(AWS_ENV)) {
    savedEnv[key] = process.env[key];
    process.env[key] = value;
  }
  world = await startSourceWorld(async (registry) => {
    const google = await FakeGoogle.start(registry, { provider: TEST_PROVIDER, serviceAccounts: [TEST_SERVICE_ACCOUNT] });
    return {
      fake: google,
      kind: "generic",
      // No admin login: the refresh function's own AWS identity is what Google trusts.
      source: `type: gar-token\nserviceAccount: ${TEST_SERVICE_ACCOUNT}\nworkloadIdentityProvider: ${TEST_PROVIDER}\napi: { sts: "${google.url}", iamCredentials: "${google.url}" }`,
      stop: () => google.close(),
    };
  });
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
    const first = await world.first();
    expect(first.username).toBe("oauth2accesstoken");
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

  // REFRESH_FAILURE also checks the refresh failed at the mint, the source's one provider step.
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
    { minting: true },
  );

  it("no request departed from Google's descriptions", () => {
    expect(world.fake.violations).toEqual([]);
  });
});
