import { type Consumer, credential, DeliveryError, type DeliveryTarget, InvalidCredentialError } from "@pullkeeper/core";
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { githubTargets, RUNNING_CODESPACE_STATES } from "../../packages/targets/src/github/index.js";
import { deliveryFailure } from "../support/delivery.js";
import { CODESPACES_FIXTURE, codespacePayload, FakeGitHub, secondaryRateLimit } from "../support/fake-github.js";
import { fixture } from "../support/fixtures.js";
import { captureOutput } from "../support/output.js";

const TOKEN = "ghp_CodespacesAuditTOKEN0123456789abcdefXYZ";
const TOKEN_SECRET = "pullkeeper/github-token";

let fake: FakeGitHub;
let output: string[];
const texts: string[] = [];

function targets() {
  const [codespaces, actions, dependabot] = githubTargets({
    readCredential: async (id) => {
      if (id !== TOKEN_SECRET) throw new InvalidCredentialError(id, "does not exist in the test vault");
      return credential("x-access-token", TOKEN);
    },
    writeSpacingMs: 0,
    retries: 0,
  });
  return { codespaces, actions, dependabot };
}

function consumer(target: Record<string, unknown>): Consumer {
  return { id: "codespaces-acme", registryId: "acme", target: { kind: "codespaces-secret", prefix: "ACME", tokenSecret: TOKEN_SECRET, baseUrl: fake.url, ...target } };
}

const userScope = (ids: number[] = [1296269]) => consumer({ scope: "user", selectedRepositoryIds: ids });
const repoScope = (repository = "octocat/Hello-World") => consumer({ scope: "repository", repository });
const orgScope = (extra: Record<string, unknown> = { visibility: "all" }) => consumer({ scope: "organization", organization: "acme", ...extra });

async function failure(promise: Promise<unknown>): Promise<DeliveryError> {
  const e = await deliveryFailure(promise);
  texts.push(e.message, String(e.stack), JSON.stringify(e));
  return e;
}

const calls = () => fake.requests.map((r) => `${r.method} ${r.path}`);

beforeEach(async () => {
  fake = await FakeGitHub.start({ token: TOKEN });
  output = captureOutput({ console: true });
});

afterEach(async () => {
  vi.restoreAllMocks();
  await fake.close();
  for (const text of [...texts, ...output]) expect(text).not.toContain(TOKEN);
  texts.length = 0;
  // Every request the client made is one GitHub's OpenAPI description has, with declared query parameters.
  expect(fake.violations).toEqual([]);
});

describe("codespaces-secret: discoverEnvironments", () => {
  it("parses GitHub's documented list payload: name, display name, last_used_at as startedAt, state, web_url", async () => {
    fake.codespaces.push(...fixture<{ codespaces: Record<string, unknown>[] }>(CODESPACES_FIXTURE).codespaces);
    const found = await targets().codespaces.discoverEnvironments(userScope());
    expect(found).toEqual([
      {
        externalId: "monalisa-octocat-hello-world-g4wpq6h95q",
        kind: "codespace",
        name: "monalisa-octocat-hello-world-g4wpq6h95q",
        startedAt: new Date("2021-10-14T06:53:30Z"),
        status: "Available",
        url: "https://monalisa-octocat-hello-world-g4wpq6h95q.github.dev",
        detail: "repository octocat/Hello-World, owner octocat",
      },
      {
        externalId: "monalisa-octocat-hello-world-3f89ada1j3",
        kind: "codespace",
        name: "monalisa-octocat-hello-world-3f89ada1j3",
        startedAt: new Date("2021-10-14T06:53:30Z"),
        status: "Available",
        url: "https://monalisa-octocat-hello-world-3f89ada1j3.github.dev",
        detail: "repository octocat/Hello-World, owner octocat",
      },
    ]);
    expect(calls()).toEqual(["GET /user/codespaces"]);
    const [request] = fake.requests;
    expect(request?.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(Object.fromEntries(request?.query ?? [])).toEqual({ per_page: "100" });
  });

  it("reads every page by GitHub's Link header, and keeps the display name and last_used_at of each", async () => {
    fake.maxPerPage = 2;
    for (let i = 1; i <= 5; i++) {
      fake.codespaces.push(codespacePayload({ name: `cs-${i}`, displayName: i === 4 ? "my big refactor" : null, lastUsedAt: `2026-03-0${i}T10:00:00Z` }));
    }
    const found = await targets().codespaces.discoverEnvironments(repoScope());
    expect(found.map((e) => [e.externalId, e.name, e.startedAt.toISOString()])).toEqual([
      ["cs-1", "cs-1", "2026-03-01T10:00:00.000Z"],
      ["cs-2", "cs-2", "2026-03-02T10:00:00.000Z"],
      ["cs-3", "cs-3", "2026-03-03T10:00:00.000Z"],
      ["cs-4", "my big refactor", "2026-03-04T10:00:00.000Z"],
      ["cs-5", "cs-5", "2026-03-05T10:00:00.000Z"],
    ]);
    expect(calls()).toEqual(["GET /repos/octocat/Hello-World/codespaces", "GET /repos/octocat/Hello-World/codespaces", "GET /repos/octocat/Hello-World/codespaces"]);
    expect(fake.requests.map((r) => r.query.get("page"))).toEqual([null, "2", "3"]);
    for (const r of fake.requests) expect(r.headers.authorization).toBe(`Bearer ${TOKEN}`);
  });

  it("keeps only running states: every state of GitHub's enum is sorted into kept or left out", async () => {
    const require = createRequire(import.meta.url);
    const spec = JSON.parse(readFileSync(require.resolve("@octokit/openapi/generated/api.github.com.deref.json"), "utf8")) as {
      paths: Record<string, { get: { responses: { 200: { content: { "application/json": { schema: { properties: { codespaces: { items: { properties: { state: { enum: string[] } } } } } } } } } } } }>;
    };
    const states = spec.paths["/user/codespaces"]?.get.responses[200].content["application/json"].schema.properties.codespaces.items.properties.state.enum ?? [];
    expect(states.length).toBeGreaterThan(10);
    for (const state of states) fake.codespaces.push(codespacePayload({ name: `cs-${state.toLowerCase()}`, state }));
    const found = await targets().codespaces.discoverEnvironments(userScope());
    expect(found.map((e) => e.status).sort()).toEqual(["Available", "Exporting", "Rebuilding", "Starting", "Updating"]);
    expect([...RUNNING_CODESPACE_STATES].every((s) => states.includes(s))).toBe(true);
  });

  it("user scope: only codespaces on the secret's selected repositories", async () => {
    fake.codespaces.push(
      codespacePayload({ name: "on-web", repository: "octocat/web", repositoryId: 11 }),
      codespacePayload({ name: "on-api", repository: "octocat/api", repositoryId: 22 }),
      codespacePayload({ name: "on-other", repository: "octocat/other", repositoryId: 33 }),
    );
    const found = await targets().codespaces.discoverEnvironments(userScope([11, 22]));
    expect(found.map((e) => e.externalId)).toEqual(["on-web", "on-api"]);
  });

  it("organization scope: every member's codespaces on the repositories the visibility reaches", async () => {
    fake.codespaces.push(
      codespacePayload({ name: "mona-web", owner: "mona", repository: "acme/web", repositoryId: 11, private: true, lastUsedAt: "2026-03-01T08:00:00Z" }),
      codespacePayload({ name: "hubot-docs", owner: "hubot", repository: "acme/docs", repositoryId: 22, private: false }),
      codespacePayload({ name: "elsewhere", owner: "mona", repository: "other-org/web", repositoryId: 33 }),
    );
    expect((await targets().codespaces.discoverEnvironments(orgScope())).map((e) => e.externalId)).toEqual(["mona-web", "hubot-docs"]);
    expect((await targets().codespaces.discoverEnvironments(orgScope({ visibility: "private" }))).map((e) => e.externalId)).toEqual(["mona-web"]);
    const selected = await targets().codespaces.discoverEnvironments(orgScope({ visibility: "selected", selectedRepositoryIds: [22] }));
    expect(selected).toMatchObject([{ externalId: "hubot-docs", detail: "repository acme/docs, owner hubot" }]);
    expect(new Set(calls())).toEqual(new Set(["GET /orgs/acme/codespaces"]));
  });

  it("a codespace without last_used_at is dated by its creation, and says so", async () => {
    const payload = codespacePayload({ name: "old" });
    delete payload.last_used_at;
    fake.codespaces.push(payload);
    const [found] = await targets().codespaces.discoverEnvironments(userScope());
    expect(found?.startedAt).toEqual(new Date(String(payload.created_at)));
    expect(found?.detail).toContain("no last_used_at");
  });

  it("Actions and Dependabot secrets have no long-running environments: no discovery, no restart", () => {
    const { actions, dependabot, codespaces } = targets();
    for (const target of [actions, dependabot] as DeliveryTarget[]) {
      expect(target.discoverEnvironments).toBeUndefined();
      expect(target.restartEnvironment).toBeUndefined();
    }
    expect(typeof codespaces.discoverEnvironments).toBe("function");
  });
});

describe("codespaces-secret: restartEnvironment", () => {
  const env = (name: string) => ({ externalId: name, kind: "codespace" as const, name: `display ${name}` });

  it("user scope: reads the codespace back, then stops it through the user endpoint, once", async () => {
    fake.codespaces.push(codespacePayload({ name: "cs-1", repositoryId: 1296269 }));
    const outcome = await targets().codespaces.restartEnvironment(userScope(), env("cs-1"));
    expect(outcome).toEqual({ detail: "stopped codespace cs-1; it loads the current secret when it starts again" });
    expect(calls()).toEqual(["GET /user/codespaces/cs-1", "POST /user/codespaces/cs-1/stop"]);
    expect(fake.requests[1]?.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(fake.codespaces[0]?.state).toBe("Shutdown");
  });

  it("repository scope on an organization's repository: still the user endpoint (discovery there only sees the token user's codespaces)", async () => {
    fake.codespaces.push(codespacePayload({ name: "cs-web", repository: "acme/web", repositoryId: 11 }));
    await targets().codespaces.restartEnvironment(repoScope("acme/web"), env("cs-web"));
    expect(calls()).toEqual(["GET /user/codespaces/cs-web", "POST /user/codespaces/cs-web/stop"]);
  });

  it("organization scope: finds the owner in the organization's list (reading pages only until found), then stops it as that member's", async () => {
    fake.maxPerPage = 1;
    fake.codespaces.push(
      codespacePayload({ name: "hubot-docs", owner: "hubot", repository: "acme/docs" }),
      codespacePayload({ name: "mona-web", owner: "mona", repository: "acme/web" }),
      codespacePayload({ name: "mona-api", owner: "mona", repository: "acme/api" }),
    );
    const outcome = await targets().codespaces.restartEnvironment(orgScope(), env("mona-web"));
    expect(outcome.detail).toBe("stopped codespace mona-web; it loads the current secret when it starts again");
    expect(calls()).toEqual(["GET /orgs/acme/codespaces", "GET /orgs/acme/codespaces", "POST /orgs/acme/members/mona/codespaces/mona-web/stop"]);
    expect(fake.codespaces.map((c) => c.state)).toEqual(["Available", "Shutdown", "Available"]);
  });

  it("refuses what is not a codespace, without a request", async () => {
    const e = await failure(targets().codespaces.restartEnvironment(userScope(), { externalId: "team-a/web-1", kind: "kubernetes-pod", name: "web-1" }));
    expect(e).toMatchObject({ code: "invalid_request", retryable: false });
    expect(calls()).toEqual([]);
  });

  it("refuses a codespace the consumer's secrets do not reach, and stops nothing", async () => {
    fake.codespaces.push(codespacePayload({ name: "unrelated", repository: "octocat/other", repositoryId: 99 }), codespacePayload({ name: "private-only", owner: "mona", repository: "acme/public", private: false }));
    const user = await failure(targets().codespaces.restartEnvironment(userScope([1296269]), env("unrelated")));
    expect(user).toMatchObject({ code: "not_found", retryable: false });
    expect(user.message).toContain("nothing was stopped");
    const org = await failure(targets().codespaces.restartEnvironment(orgScope({ visibility: "private" }), env("private-only")));
    expect(org.code).toBe("not_found");
    const gone = await failure(targets().codespaces.restartEnvironment(orgScope(), env("no-such-codespace")));
    expect(gone.code).toBe("not_found");
    expect(calls().filter((c) => c.startsWith("POST"))).toEqual([]);
    expect(fake.codespaces.map((c) => c.state)).toEqual(["Available", "Available"]);
  });

  it("a codespace GitHub does not know (404 on the read) is not_found, and nothing is stopped", async () => {
    const e = await failure(targets().codespaces.restartEnvironment(userScope(), env("deleted-yesterday")));
    expect(e).toMatchObject({ code: "not_found", retryable: false });
    expect(calls()).toEqual(["GET /user/codespaces/deleted-yesterday"]);
  });
});

describe("codespaces-secret: failures are classified DeliveryErrors without the token", () => {
  it("401 → unauthorized (not retryable)", async () => {
    fake.token = "another-token";
    const e = await failure(targets().codespaces.discoverEnvironments(userScope()));
    expect(e).toMatchObject({ code: "unauthorized", retryable: false });
    expect(e.message).toContain("listing codespaces of the token's user");
  });

  it("404 → not_found", async () => {
    fake.respond({ status: 404, body: { message: "Not Found", documentation_url: "https://docs.github.com/rest" } });
    const e = await failure(targets().codespaces.discoverEnvironments(orgScope()));
    expect(e).toMatchObject({ code: "not_found", retryable: false });
    expect(e.message).toContain("org acme");
  });

  it("429 → throttled with GitHub's Retry-After", async () => {
    fake.respond({ status: 429, headers: { "retry-after": "7" }, body: { message: "Too Many Requests" } });
    const e = await failure(targets().codespaces.discoverEnvironments(repoScope()));
    expect(e).toMatchObject({ code: "throttled", retryable: true, retryAfterMs: 7000 });
  });

  it("403 secondary rate limit on the second page → throttled; and on the stop call too", async () => {
    fake.maxPerPage = 1;
    fake.codespaces.push(codespacePayload({ name: "a" }), codespacePayload({ name: "b" }));
    fake.respond({ ...secondaryRateLimit(90), match: (r) => r.method === "GET" && fake.requests.length > 1 });
    const listing = await failure(targets().codespaces.discoverEnvironments(userScope()));
    expect(listing).toMatchObject({ code: "throttled", retryable: true, retryAfterMs: 90_000 });

    fake.respond({ ...secondaryRateLimit(30), match: (r) => r.method === "POST" });
    const stop = await failure(targets().codespaces.restartEnvironment(userScope(), { externalId: "a", kind: "codespace", name: "a" }));
    expect(stop).toMatchObject({ code: "throttled", retryAfterMs: 30_000 });
    expect(stop.message).toContain("stopping codespace a");
  });

  it("a GitHub message that echoes the token is redacted", async () => {
    fake.respond({ status: 403, body: { message: `token ${TOKEN} lacks the codespace scope` } });
    const e = await failure(targets().codespaces.discoverEnvironments(userScope()));
    expect(e).toMatchObject({ code: "forbidden", retryable: false });
    expect(e.message).toContain("[REDACTED]");
  });
});
