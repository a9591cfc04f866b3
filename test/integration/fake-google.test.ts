import { describe, expect, it } from "vitest";
import { awsCallerIdentity } from "../../packages/aws/src/gcp-subject-token.js";
import { GOOGLE_LOGIN, useFakeGoogle } from "../support/fake-google.js";
import { parseAwsSubject } from "../support/fake-google-subject.js";
import { expectResetAndHang, expectScriptedStatuses, readAnswer } from "../support/provider-fake-tests.js";

const world = useFakeGoogle();
const KEY_ID = "AKIAFAKEGOOGLETEST01";
const sign = awsCallerIdentity({ region: "eu-west-1", credentials: { accessKeyId: KEY_ID, secretAccessKey: "not-a-real-secret", sessionToken: "not-a-real-session" } });

async function exchange(options: { audience?: string; subjectToken?: string; form?: boolean; signal?: AbortSignal } = {}) {
  const audience = options.audience ?? world.provider;
  const fields = {
    grantType: "urn:ietf:params:oauth:grant-type:token-exchange",
    audience,
    scope: "https://www.googleapis.com/auth/cloud-platform",
    requestedTokenType: "urn:ietf:params:oauth:token-type:access_token",
    subjectToken: options.subjectToken ?? (await sign(audience)),
    subjectTokenType: "urn:ietf:params:aws:token-type:aws4_request",
  };
  const body = options.form
    ? new URLSearchParams({ grant_type: fields.grantType, audience, scope: fields.scope, requested_token_type: fields.requestedTokenType, subject_token: fields.subjectToken, subject_token_type: fields.subjectTokenType }).toString()
    : JSON.stringify(fields);
  return readAnswer(
    await fetch(`${world.google.url}/v1/token`, {
      method: "POST",
      headers: { "content-type": options.form ? "application/x-www-form-urlencoded" : "application/json" },
      body,
      signal: options.signal ?? AbortSignal.timeout(5_000),
    }),
  );
}

async function generate(federated: string | undefined, body: unknown = { scope: ["https://www.googleapis.com/auth/cloud-platform"], lifetime: "3600s" }, account = world.serviceAccount) {
  return readAnswer(
    await fetch(`${world.google.url}/v1/projects/-/serviceAccounts/${encodeURIComponent(account)}:generateAccessToken`, {
      method: "POST",
      headers: { "content-type": "application/json", ...(federated !== undefined && { authorization: `Bearer ${federated}` }) },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(5_000),
    }),
  );
}

const federatedToken = async (): Promise<string> => {
  const answer = await exchange();
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  return (answer.body as { access_token: string }).access_token;
};

describe("the Google stand-in (workload identity federation from AWS)", () => {
  it("exchanges a signed GetCallerIdentity for a federated token, impersonates the service account, and the access token opens the registry as oauth2accesstoken until it expires", async () => {
    const federated = await federatedToken();
    const minted = await generate(federated);
    expect(minted.status).toBe(200);
    const { accessToken, expireTime } = minted.body as { accessToken: string; expireTime: string };
    expect(Date.parse(expireTime)).toBe(world.google.now + 3_600_000);
    expect(await world.registry.basic(GOOGLE_LOGIN, accessToken)).toBe(200);
    expect(await world.registry.basic(GOOGLE_LOGIN, "ya29.not-minted")).toBe(401);

    const second = (await generate(federated)).body as { accessToken: string };
    expect(await world.registry.basic(GOOGLE_LOGIN, second.accessToken)).toBe(200);
    expect(world.google.requests.find((r) => r.subject !== undefined)?.subject).toEqual({ accessKeyId: KEY_ID, region: "eu-west-1", targetResource: world.provider, session: true });
    expect(JSON.stringify(world.google.requests) + JSON.stringify(world.google.tokens)).not.toContain(accessToken);

    await world.google.tick(Date.parse(expireTime));
    expect(await world.registry.basic(GOOGLE_LOGIN, accessToken)).toBe(401);
    expect(await world.registry.basic(GOOGLE_LOGIN, second.accessToken)).toBe(401);
    expect(world.google.tokens.every((t) => !t.live)).toBe(true);
    // The federated token has expired with them.
    expect((await generate(federated)).status).toBe(401);
  });

  it("takes the RFC 8693 form Google's client libraries send, checked under the description's names", async () => {
    const answer = await exchange({ form: true });
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    expect(answer.body).toMatchObject({ token_type: "Bearer", issued_token_type: "urn:ietf:params:oauth:token-type:access_token" });
  });

  it("refuses another audience, a subject bound to another provider, a malformed subject and an untrusted caller", async () => {
    const other = world.provider.replace("aws-prod", "aws-test");
    expect((await exchange({ audience: other })).body).toMatchObject({ error: "invalid_target" });
    expect((await exchange({ subjectToken: await sign(other) })).body).toMatchObject({ error: "invalid_grant" });
    expect((await exchange({ subjectToken: encodeURIComponent(JSON.stringify({ url: "https://example.com/", method: "POST", headers: [] })) })).body).toMatchObject({ error: "invalid_grant" });
    world.google.trustedKeys = new Set(["AKIAANOTHERACCOUNT01"]);
    try {
      const refused = await exchange();
      expect(refused).toMatchObject({ status: 400, body: { error: "unauthorized_client" } });
    } finally {
      world.google.trustedKeys = undefined;
    }
    expect(parseAwsSubject("%7B")).toEqual({ problem: "not URL-encoded JSON" });
  });

  it("refuses generateAccessToken without a live federated token (401), for another service account (403) and beyond the longest lifetime (400)", async () => {
    expect((await generate(undefined)).status).toBe(401);
    expect((await generate("ya29.fed-unknown")).status).toBe(401);
    const federated = await federatedToken();
    expect(await generate(federated, undefined, "other@acme-prod.iam.gserviceaccount.com")).toMatchObject({ status: 403, body: { error: { status: "PERMISSION_DENIED" } } });
    expect(await generate(federated, { scope: ["https://www.googleapis.com/auth/cloud-platform"], lifetime: "7200s" })).toMatchObject({ status: 400, body: { error: { status: "INVALID_ARGUMENT" } } });
    expect(world.google.tokens.filter((t) => t.live)).toEqual([]);
  });

  it("answers a request off the description 400 and records the violation", async () => {
    const federated = await federatedToken();
    expect((await generate(federated, { lifetime: "600s" })).status).toBe(400);
    expect((await generate(federated, { scope: ["x"], lifetimeSeconds: 600 })).status).toBe(400);
    const violations = world.google.takeViolations();
    expect(violations).toEqual([expect.stringMatching(/body.*scope/), expect.stringMatching(/lifetimeSeconds/)]);
  });

  it("plays scripted statuses, resets and hangs", async () => {
    world.google.failNext({ status: 429, headers: { "retry-after": "7" }, match: (r) => r.path === "/v1/token" }, { status: 429 }, { status: 503 });
    await expectScriptedStatuses(() => exchange(), () => exchange(), "7", 503);
    await expectResetAndHang(world.google, (signal) => exchange({ ...(signal && { signal }) }));
  });
});
