import { deliveryFailure } from "../support/delivery.js";
import { type Consumer, credential, type Credential, type DeliveryContext, DeliveryError, InvalidCredentialError, type Registry } from "@pullkeeper/core";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { githubTargets } from "../../packages/targets/src/github/index.js";
import { FakeGitHub, secondaryRateLimit, validateRequest } from "../support/fake-github.js";
import { fixture } from "../support/fixtures.js";

const TOKEN = "ghp_FAKEfakeFAKEfake0123456789abcdefABCD";
const PASSWORD = "dckr_pat_S3cr3t-v4lue-nobody-may-see_42";
const USERNAME = "acme-bot";
const TOKEN_SECRET = "pullkeeper/github-token";
const HOST = "registry.example.com";

const registry: Registry = { id: "acme", host: HOST, kind: "generic", source: { type: "managed-secret" }, secret: "pullkeeper/acme", verify: {} };

let fake: FakeGitHub;
let reads: string[];
let tokenValue: string;

function targets(overrides: { retries?: number; writeSpacingMs?: number; now?: () => number } = {}) {
  const [codespaces, actions, dependabot] = githubTargets({
    readCredential: async (id) => {
      reads.push(id);
      if (id !== TOKEN_SECRET) throw new InvalidCredentialError(id, "does not exist in the test vault");
      return credential("x-access-token", tokenValue);
    },
    writeSpacingMs: overrides.writeSpacingMs ?? 0,
    retryBaseMs: 5,
    ...(overrides.retries === undefined ? {} : { retries: overrides.retries }),
    ...(overrides.now === undefined ? {} : { now: overrides.now }),
  });
  return { codespaces, actions, dependabot };
}

function consumer(target: Record<string, unknown>): Consumer {
  return { id: "c1", registryId: "acme", target: { kind: "", tokenSecret: TOKEN_SECRET, baseUrl: fake.url, ...target } };
}

function context(c: Consumer, cred: Credential = credential(USERNAME, PASSWORD)): DeliveryContext {
  return { consumer: c, registry, secretArn: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:pullkeeper/acme-AbCdEf", versionId: "v-1", credential: cred };
}

async function failure(promise: Promise<unknown>): Promise<DeliveryError> {
  return deliveryFailure(promise);
}

/** Everything written to the console and to stdout/stderr while `fn` runs. */
async function captured<T>(fn: () => Promise<T>): Promise<{ result: T | undefined; error: unknown; output: string }> {
  const chunks: string[] = [];
  const spies = (["log", "info", "warn", "error", "debug", "trace"] as const).map((m) => vi.spyOn(console, m).mockImplementation((...args: unknown[]) => void chunks.push(args.map((a) => (typeof a === "string" ? a : JSON.stringify(a) ?? String(a))).join(" "))));
  const out = vi.spyOn(process.stdout, "write").mockImplementation((chunk: unknown) => (chunks.push(String(chunk)), true));
  const err = vi.spyOn(process.stderr, "write").mockImplementation((chunk: unknown) => (chunks.push(String(chunk)), true));
  try {
    const result = await fn();
    return { result, error: undefined, output: chunks.join("\n") };
  } catch (error) {
    return { result: undefined, error, output: chunks.join("\n") };
  } finally {
    for (const s of [...spies, out, err]) s.mockRestore();
  }
}

beforeEach(async () => {
  reads = [];
  tokenValue = TOKEN;
  fake = await FakeGitHub.start({ token: TOKEN });
});

afterEach(async () => {
  await fake.close();
});

describe("codespaces-secret", () => {
  it("repository scope: writes SERVER/USER/PASSWORD that decrypt to the registry host and credential", async () => {
    const outcome = await targets().codespaces.deliver(context(consumer({ kind: "codespaces-secret", prefix: "ACME", scope: "repository", repository: "octo-org/web" })));
    expect(outcome).toEqual({
      status: "delivered",
      detail: expect.stringContaining("wrote ACME_CONTAINER_REGISTRY_SERVER/_USER/_PASSWORD in repo octo-org/web") as unknown as string,
    });
    const collection = "/repos/octo-org/web/codespaces/secrets";
    expect(fake.value(collection, "ACME_CONTAINER_REGISTRY_SERVER")).toBe(HOST);
    expect(fake.value(collection, "ACME_CONTAINER_REGISTRY_USER")).toBe(USERNAME);
    expect(fake.value(collection, "ACME_CONTAINER_REGISTRY_PASSWORD")).toBe(PASSWORD);
    expect(fake.requests.map((r) => `${r.method} ${r.path} ${r.status}`)).toEqual([
      `GET ${collection}/public-key 200`,
      `PUT ${collection}/ACME_CONTAINER_REGISTRY_SERVER 201`,
      `PUT ${collection}/ACME_CONTAINER_REGISTRY_USER 201`,
      `PUT ${collection}/ACME_CONTAINER_REGISTRY_PASSWORD 201`,
    ]);
    expect(fake.requests.map((r) => r.operation)).toContain("PUT /repos/{owner}/{repo}/codespaces/secrets/{secret_name}");
    expect(fake.violations).toEqual([]);
    expect(outcome.detail).not.toContain(PASSWORD);
    // The body is exactly {encrypted_value, key_id}: no plaintext anywhere in it.
    for (const w of fake.writes()) {
      expect(Object.keys(w.body as object).sort()).toEqual(["encrypted_value", "key_id"]);
      expect(JSON.stringify(w.body)).not.toContain(PASSWORD);
    }
  });

  it("user scope: sends selected_repository_ids and writes under /user", async () => {
    await targets().codespaces.deliver(context(consumer({ kind: "codespaces-secret", prefix: "ACME", scope: "user", selectedRepositoryIds: [1296269, 1296280] })));
    expect(fake.value("/user/codespaces/secrets", "ACME_CONTAINER_REGISTRY_PASSWORD")).toBe(PASSWORD);
    expect(fake.secrets.get("/user/codespaces/secrets/ACME_CONTAINER_REGISTRY_USER")?.body["selected_repository_ids"]).toEqual([1296269, 1296280]);
    expect(fake.requests[0]?.path).toBe("/user/codespaces/secrets/public-key");
    expect(fake.violations).toEqual([]);
  });

  it("organization scope, selected: the body has the shape of GitHub's documented example", async () => {
    const outcome = await targets().codespaces.deliver(
      context(consumer({ kind: "codespaces-secret", prefix: "ACME", scope: "organization", organization: "octo-org", visibility: "selected", selectedRepositoryIds: [1296269, 1296280] })),
    );
    const stored = fake.secrets.get("/orgs/octo-org/codespaces/secrets/ACME_CONTAINER_REGISTRY_PASSWORD");
    expect(stored?.value).toBe(PASSWORD);
    const documented = fixture<Record<string, unknown>>("github/put-org-codespaces-secret.request-body.verbatim.json");
    expect(Object.keys(stored?.body ?? {}).sort()).toEqual(Object.keys(documented).sort());
    expect(stored?.body).toMatchObject({ visibility: "selected", selected_repository_ids: [1296269, 1296280] });
    expect(outcome.detail).toContain("org octo-org (visibility selected: repositories 1296269, 1296280)");
    expect(fake.violations).toEqual([]);
  });

  it("organization scope, private: visibility and no repository list", async () => {
    await targets().codespaces.deliver(context(consumer({ kind: "codespaces-secret", prefix: "ACME", scope: "organization", organization: "octo-org", visibility: "private" })));
    const body = fake.secrets.get("/orgs/octo-org/codespaces/secrets/ACME_CONTAINER_REGISTRY_SERVER")?.body;
    expect(body?.["visibility"]).toBe("private");
    expect(body).not.toHaveProperty("selected_repository_ids");
    expect(fake.violations).toEqual([]);
  });

  it("the public-key answer has GitHub's documented shape", async () => {
    await targets().codespaces.deliver(context(consumer({ kind: "codespaces-secret", prefix: "ACME", scope: "repository", repository: "octo-org/web" })));
    const documented = fixture<Record<string, unknown>>("github/get-repo-codespaces-secrets-public-key.response.verbatim.json");
    const res = await fetch(`${fake.url}/repos/octo-org/web/codespaces/secrets/public-key`, { headers: { authorization: `Bearer ${TOKEN}` } });
    const body = (await res.json()) as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual(Object.keys(documented).sort());
  });

  it("rejects an invalid consumer before any request, naming the field", async () => {
    const error = await failure(targets().codespaces.deliver(context(consumer({ kind: "codespaces-secret", prefix: "GITHUB_ACME", scope: "repository", repository: "octo-org/web" }))));
    expect(error).toMatchObject({ code: "invalid_target", retryable: false });
    expect(error.message).toContain("prefix");
    expect(fake.requests).toHaveLength(0);
  });
});

describe("github-actions-secret and dependabot-secret", () => {
  const cases = [
    { kind: "github-actions-secret", scope: { scope: "repository", repository: "octo-org/web" }, collection: "/repos/octo-org/web/actions/secrets", op: "PUT /repos/{owner}/{repo}/actions/secrets/{secret_name}" },
    {
      kind: "github-actions-secret",
      scope: { scope: "environment", repository: "octo-org/web", environment: "production" },
      collection: "/repos/octo-org/web/environments/production/secrets",
      op: "PUT /repos/{owner}/{repo}/environments/{environment_name}/secrets/{secret_name}",
    },
    { kind: "github-actions-secret", scope: { scope: "organization", organization: "octo-org", visibility: "all" }, collection: "/orgs/octo-org/actions/secrets", op: "PUT /orgs/{org}/actions/secrets/{secret_name}" },
    { kind: "dependabot-secret", scope: { scope: "repository", repository: "octo-org/web" }, collection: "/repos/octo-org/web/dependabot/secrets", op: "PUT /repos/{owner}/{repo}/dependabot/secrets/{secret_name}" },
    {
      kind: "dependabot-secret",
      scope: { scope: "organization", organization: "octo-org", visibility: "selected", selectedRepositoryIds: [42] },
      collection: "/orgs/octo-org/dependabot/secrets",
      op: "PUT /orgs/{org}/dependabot/secrets/{secret_name}",
    },
  ] as const;

  it.each(cases)("$kind at $scope.scope: default names, values decrypt to the credential, requests match the OpenAPI description", async ({ kind, scope, collection, op }) => {
    const t = targets();
    const target = kind === "dependabot-secret" ? t.dependabot : t.actions;
    const outcome = await target.deliver(context(consumer({ kind, ...scope })));
    expect(outcome.status).toBe("delivered");
    expect(outcome.detail).toContain("wrote REGISTRY_USERNAME/REGISTRY_PASSWORD");
    expect(fake.value(collection, "REGISTRY_USERNAME")).toBe(USERNAME);
    expect(fake.value(collection, "REGISTRY_PASSWORD")).toBe(PASSWORD);
    expect(fake.requests.map((r) => r.operation)).toEqual([`GET ${collection.replace("octo-org/web", "{owner}/{repo}").replace("/orgs/octo-org", "/orgs/{org}").replace("/production/", "/{environment_name}/")}/public-key`, op, op]);
    expect(fake.violations).toEqual([]);
  });

  it("uses configured names", async () => {
    await targets().actions.deliver(context(consumer({ kind: "github-actions-secret", scope: "repository", repository: "octo-org/web", usernameSecret: "ACME_USER", passwordSecret: "ACME_TOKEN" })));
    expect(fake.value("/repos/octo-org/web/actions/secrets", "ACME_USER")).toBe(USERNAME);
    expect(fake.value("/repos/octo-org/web/actions/secrets", "ACME_TOKEN")).toBe(PASSWORD);
    expect(fake.value("/repos/octo-org/web/actions/secrets", "REGISTRY_PASSWORD")).toBeUndefined();
  });

  it("the three kinds share one public-key cache and token cache", async () => {
    const t = targets();
    const c = consumer({ kind: "github-actions-secret", scope: "repository", repository: "octo-org/web" });
    await t.actions.deliver(context(c));
    await t.actions.deliver(context(c, credential(USERNAME, "second-password")));
    await t.codespaces.deliver(context(consumer({ kind: "codespaces-secret", prefix: "ACME", scope: "repository", repository: "octo-org/web" })));
    expect(fake.requests.filter((r) => r.method === "GET").map((r) => r.path)).toEqual(["/repos/octo-org/web/actions/secrets/public-key", "/repos/octo-org/web/codespaces/secrets/public-key"]);
    expect(fake.value("/repos/octo-org/web/actions/secrets", "REGISTRY_PASSWORD")).toBe("second-password");
    expect(reads).toEqual([TOKEN_SECRET]);
  });
});

describe("caches and pacing", () => {
  it("re-reads the token and refetches the public key once their few minutes are over", async () => {
    let now = Date.parse("2026-03-01T12:00:00Z");
    const t = targets({ now: () => now });
    const c = consumer({ kind: "dependabot-secret", scope: "repository", repository: "octo-org/web" });
    await t.dependabot.deliver(context(c));
    now += 60_000;
    await t.dependabot.deliver(context(c));
    expect(reads).toHaveLength(1);
    expect(fake.requests.filter((r) => r.method === "GET")).toHaveLength(1);
    now += 6 * 60_000;
    await t.dependabot.deliver(context(c));
    expect(reads).toHaveLength(2);
    expect(fake.requests.filter((r) => r.method === "GET")).toHaveLength(2);
  });

  it("spaces writes through one API root", async () => {
    await targets({ writeSpacingMs: 150 }).codespaces.deliver(context(consumer({ kind: "codespaces-secret", prefix: "ACME", scope: "repository", repository: "octo-org/web" })));
    const times = fake.writes().map((w) => w.at);
    expect(times).toHaveLength(3);
    // Bottleneck spaces when each write *starts*; the fake stamps it after reading the body, so on a
    // busy CI machine two stamps can land a few ms closer than 150 (137 was seen). Unspaced writes
    // arrive within a few ms of each other, so 100 still tells the two apart.
    for (let i = 1; i < times.length; i++) expect((times[i] ?? 0) - (times[i - 1] ?? 0)).toBeGreaterThanOrEqual(100);
  });
});

describe("public key rotation", () => {
  it("refetches the key once when GitHub says the cached key_id is stale, and succeeds", async () => {
    const t = targets();
    const c = consumer({ kind: "codespaces-secret", prefix: "ACME", scope: "repository", repository: "octo-org/web" });
    await t.codespaces.deliver(context(c));
    fake.rotateKey("/repos/octo-org/web/codespaces/secrets");
    await t.codespaces.deliver(context(c, credential(USERNAME, "rotated-password")));
    expect(fake.value("/repos/octo-org/web/codespaces/secrets", "ACME_CONTAINER_REGISTRY_PASSWORD")).toBe("rotated-password");
    expect(fake.requests.slice(4).map((r) => `${r.method} ${r.status}`)).toEqual(["PUT 422", "GET 200", "PUT 204", "PUT 204", "PUT 204"]);
  });

  it("a 422 that persists after the one refetch is invalid_request, not retried further", async () => {
    const stale = { status: 422, body: { message: "Bad request - the key_id does not match the current public key" }, match: (r: { method: string }) => r.method === "PUT" };
    fake.respond(stale, stale, stale);
    const error = await failure(targets().codespaces.deliver(context(consumer({ kind: "codespaces-secret", prefix: "ACME", scope: "repository", repository: "octo-org/web" }))));
    expect(error).toMatchObject({ code: "invalid_request", retryable: false });
    expect(fake.requests.map((r) => r.method)).toEqual(["GET", "PUT", "GET", "PUT"]);
  });
});

describe("errors", () => {
  const repo = () => consumer({ kind: "codespaces-secret", prefix: "ACME", scope: "repository", repository: "octo-org/web" });

  it("wrong token: unauthorized, not retryable, exactly one request, and the token is re-read next time", async () => {
    tokenValue = "ghp_wrong_token_000000000000000000000000";
    const t = targets();
    const error = await failure(t.codespaces.deliver(context(repo())));
    expect(error).toMatchObject({ code: "unauthorized", retryable: false });
    expect(error.message).toContain("Bad credentials");
    expect(fake.requests).toHaveLength(1);
    tokenValue = TOKEN;
    await t.codespaces.deliver(context(repo()));
    expect(reads).toEqual([TOKEN_SECRET, TOKEN_SECRET]);
  });

  it("secondary rate limit (403): throttled, retryable, retryAfterMs from Retry-After, no internal retry", async () => {
    fake.respond({ ...secondaryRateLimit(37), match: (r) => r.method === "PUT" });
    const started = Date.now();
    const error = await failure(targets().codespaces.deliver(context(repo())));
    expect(error).toMatchObject({ code: "throttled", retryable: true, retryAfterMs: 37_000 });
    expect(error.message).toContain("secondary rate limit");
    expect(fake.writes()).toHaveLength(1);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("secondary rate limit without Retry-After: throttled for GitHub's one minute", async () => {
    fake.respond(secondaryRateLimit());
    const error = await failure(targets().codespaces.deliver(context(repo())));
    expect(error).toMatchObject({ code: "throttled", retryable: true, retryAfterMs: 60_000 });
    expect(fake.requests).toHaveLength(1);
  });

  it("429 with Retry-After: throttled, retryable, not retried internally", async () => {
    fake.respond({ status: 429, headers: { "retry-after": "12" }, body: { message: "Too Many Requests" } });
    const error = await failure(targets().codespaces.deliver(context(repo())));
    expect(error).toMatchObject({ code: "throttled", retryable: true, retryAfterMs: 12_000 });
    expect(fake.requests).toHaveLength(1);
  });

  it("primary rate limit (403, x-ratelimit-remaining 0): throttled until the reset", async () => {
    const reset = Math.floor(Date.now() / 1000) + 120;
    fake.respond({ status: 403, headers: { "x-ratelimit-remaining": "0", "x-ratelimit-reset": String(reset) }, body: { message: "API rate limit exceeded for user ID 1." } });
    const error = await failure(targets().codespaces.deliver(context(repo())));
    expect(error).toMatchObject({ code: "throttled", retryable: true });
    expect(error.retryAfterMs).toBeGreaterThan(110_000);
    expect(error.retryAfterMs).toBeLessThanOrEqual(122_000);
    expect(fake.requests).toHaveLength(1);
  });

  it("other 403: forbidden, not retryable", async () => {
    fake.respond({ status: 403, body: { message: "Resource not accessible by personal access token" } });
    const error = await failure(targets().codespaces.deliver(context(repo())));
    expect(error).toMatchObject({ code: "forbidden", retryable: false });
    expect(error.message).toContain("Resource not accessible by personal access token");
    expect(fake.requests).toHaveLength(1);
  });

  it("404: not_found, not retryable", async () => {
    fake.respond({ status: 404, body: { message: "Not Found" } });
    await expect(targets().codespaces.deliver(context(repo()))).rejects.toMatchObject({ code: "not_found", retryable: false });
    expect(fake.requests).toHaveLength(1);
  });

  it("500 that persists: unavailable, retryable, after at most two quick internal retries", async () => {
    const down = { status: 500, body: { message: "Server Error" } };
    fake.respond(down, down, down, down, down);
    const started = Date.now();
    const error = await failure(targets().codespaces.deliver(context(repo())));
    expect(error).toMatchObject({ code: "unavailable", retryable: true });
    expect(fake.requests.length).toBeGreaterThanOrEqual(2);
    expect(fake.requests.length).toBeLessThanOrEqual(3);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it("one 502 is retried internally and the delivery succeeds", async () => {
    fake.respond({ status: 502, body: { message: "Bad Gateway" }, match: (r) => r.method === "PUT" });
    await expect(targets().codespaces.deliver(context(repo()))).resolves.toMatchObject({ status: "delivered" });
    expect(fake.value("/repos/octo-org/web/codespaces/secrets", "ACME_CONTAINER_REGISTRY_PASSWORD")).toBe(PASSWORD);
  });

  it("a failure after some writes says which secrets were already written", async () => {
    fake.respond({ status: 404, body: { message: "Not Found" }, match: (r) => r.path.endsWith("_PASSWORD") });
    const error = await failure(targets().codespaces.deliver(context(repo())));
    expect(error.message).toContain("already wrote ACME_CONTAINER_REGISTRY_SERVER, ACME_CONTAINER_REGISTRY_USER");
  });

  it("GitHub unreachable: unavailable, retryable", async () => {
    const c = repo();
    await fake.close();
    const error = await failure(targets({ retries: 0 }).codespaces.deliver(context(c)));
    expect(error).toMatchObject({ code: "unavailable", retryable: true });
  });

  it("a token secret that cannot be read: its own code, no request to GitHub", async () => {
    const error = await failure(targets().codespaces.deliver(context(consumer({ kind: "codespaces-secret", prefix: "ACME", scope: "repository", repository: "octo-org/web", tokenSecret: "missing" }))));
    expect(error).toMatchObject({ code: "invalid_credential", retryable: false });
    expect(error.message).toContain("GitHub token secret missing");
    expect(fake.requests).toHaveLength(0);
  });
});

describe("secrecy", () => {
  it("neither the password nor the token appears in console/stdout output, error messages or error JSON", async () => {
    const repo = consumer({ kind: "codespaces-secret", prefix: "ACME", scope: "repository", repository: "octo-org/web" });
    const runs = [
      () => targets().codespaces.deliver(context(repo)),
      () => (fake.respond({ status: 401, body: { message: `Bad credentials for ${TOKEN}` } }), targets().codespaces.deliver(context(repo))),
      () => (fake.respond({ ...secondaryRateLimit(5), match: (r) => r.method === "PUT" }), targets().codespaces.deliver(context(repo))),
      () => (fake.respond({ status: 422, body: { message: `rejected value ${PASSWORD}` }, match: (r) => r.method === "PUT" }), targets().actions.deliver(context(consumer({ kind: "github-actions-secret", scope: "repository", repository: "octo-org/web" })))),
      () => (fake.respond({ status: 500 }, { status: 500 }, { status: 500 }), targets().codespaces.deliver(context(repo))),
    ];
    const errors: unknown[] = [];
    for (const run of runs) {
      const { error, result, output } = await captured(run);
      expect(output).not.toContain(PASSWORD);
      expect(output).not.toContain(TOKEN);
      if (result !== undefined) expect(JSON.stringify(result)).not.toContain(PASSWORD);
      if (error !== undefined) errors.push(error);
    }
    expect(errors).toHaveLength(4);
    for (const e of errors) {
      expect(e).toBeInstanceOf(DeliveryError);
      const text = [String(e), (e as Error).message, (e as Error).stack ?? "", JSON.stringify(e), JSON.stringify((e as Error).cause ?? null)].join("\n");
      expect(text).not.toContain(PASSWORD);
      expect(text).not.toContain(TOKEN);
    }
    // GitHub's own echo of a secret is cut out, the rest of its message kept.
    expect((errors[0] as Error).message).toContain("Bad credentials for [REDACTED]");
    expect((errors[2] as Error).message).toContain("rejected value [REDACTED]");
  });
});

describe("GitHub Enterprise Server", () => {
  it("works against a baseUrl with /api/v3 and counts against its own provider bucket", async () => {
    await fake.close();
    fake = await FakeGitHub.start({ token: TOKEN, basePath: "/api/v3" });
    const t = targets();
    const c = consumer({ kind: "codespaces-secret", prefix: "ACME", scope: "organization", organization: "octo-org", visibility: "all" });
    const outcome = await t.codespaces.deliver(context(c));
    expect(outcome.detail).toContain(`on ${new URL(fake.url).host}`);
    expect(fake.value("/orgs/octo-org/codespaces/secrets", "ACME_CONTAINER_REGISTRY_PASSWORD")).toBe(PASSWORD);
    expect(fake.violations).toEqual([]);
    expect(t.codespaces.provider(c)).toBe(`github:${new URL(fake.url).host}`);
    expect(t.codespaces.provider({ ...c, target: { kind: "codespaces-secret", prefix: "ACME", tokenSecret: TOKEN_SECRET, scope: "repository", repository: "o/r" } })).toBe("github");
  });
});

describe("the fake's OpenAPI validation catches a wrong request", () => {
  it("reports a missing key_id, a wrong type, an unknown operation and an undeclared property", async () => {
    expect((await validateRequest("PUT", "/repos/o/r/actions/secrets/X", { encrypted_value: "c2VjcmV0" })).problems).toEqual([
      "PUT /repos/{owner}/{repo}/actions/secrets/{secret_name} body: missing required property key_id",
    ]);
    expect((await validateRequest("PUT", "/user/codespaces/secrets/X", { encrypted_value: "not base64!" })).problems).toEqual([
      "PUT /user/codespaces/secrets/{secret_name} body: missing required property key_id",
      expect.stringContaining("PUT /user/codespaces/secrets/{secret_name} body.encrypted_value: does not match"),
    ]);
    expect((await validateRequest("PUT", "/orgs/o/codespaces/secrets/X", { encrypted_value: "c2VjcmV0", key_id: "1", visibility: "selected", selected_repository_ids: ["x"] })).problems).toHaveLength(1);
    expect((await validateRequest("PUT", "/orgs/o/codespaces/secrets/X", { encrypted_value: "c2VjcmV0", key_id: "1" })).problems[0]).toContain("missing required property visibility");
    expect((await validateRequest("PUT", "/repos/o/r/environment/prod/secrets/X", { encrypted_value: "c2VjcmV0", key_id: "1" })).operation).toBeUndefined();
    expect((await validateRequest("PUT", "/repos/o/r/actions/secrets/X", { encrypted_value: "c2VjcmV0", key_id: "1", visibility: "all" })).problems[0]).toContain("visibility is not in the OpenAPI description");
    expect((await validateRequest("GET", "/repos/o/r/actions/secrets/public-key", undefined)).operation).toBe("GET /repos/{owner}/{repo}/actions/secrets/public-key");
  });
});
