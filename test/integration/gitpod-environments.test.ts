import { credential, DeliveryError, NotFoundError } from "@pullkeeper/core";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { RUNNING_GITPOD_PHASES } from "../../packages/targets/src/gitpod/environments.js";
import { GitpodSecretTarget } from "../../packages/targets/src/gitpod/gitpod-target.js";
import { deliveryFailure } from "../support/delivery.js";
import { ENVIRONMENT_PHASES, GITPOD_TEST_TOKEN as TOKEN, gitpodEnvironment } from "../support/fake-gitpod.js";
import { fixture } from "../support/fixtures.js";
import { GITPOD_OTHER_PROJECT as OTHER_PROJECT, GITPOD_PROJECT as PROJECT, useFakeGitpod } from "../support/gitpod-server.js";
import { captureOutput } from "../support/output.js";

const USER = "f53d2330-3795-4c5d-a1f3-453121af9c60";
const ENV_ID = "07e03a28-65a5-4d98-b532-8ea67b188048";

const fake = useFakeGitpod();
let output: string[];
const texts: string[] = [];

function target(): GitpodSecretTarget {
  return new GitpodSecretTarget({
    timeoutMs: 2_000,
    readCredential: async (id) => {
      if (id !== "pullkeeper/gitpod-token") throw new NotFoundError(`secret ${id}`);
      return credential("gitpod", TOKEN);
    },
  });
}

async function failure(promise: Promise<unknown>): Promise<DeliveryError> {
  const e = await deliveryFailure(promise);
  texts.push(e.message, JSON.stringify(e), String(e.stack));
  return e;
}

const methods = (): string[] => fake.server.received.map((r) => r.url.replace(/^\/api\/gitpod\.v1\./, ""));
const bodies = (): unknown[] => fake.server.received.map((r) => JSON.parse(r.body) as unknown);

beforeEach(() => {
  output = captureOutput();
});

afterEach(() => {
  vi.restoreAllMocks();
  for (const text of [...texts, output.join("")]) expect(text).not.toContain(TOKEN);
  texts.length = 0;
});

describe("gitpod-secret: discoverEnvironments", () => {
  it("asks ListEnvironments for the project's running environments, in the documented request shape, and maps them", async () => {
    fake.gitpod.environments.push(
      gitpodEnvironment({ id: ENV_ID, name: "web main", projectId: PROJECT, lastStartedAt: "2026-03-01T08:30:00Z", secret: { name: "QUAY_AUTH", session: "s-41" } }),
    );
    const found = await target().discoverEnvironments(fake.consumer());
    expect(found).toEqual([
      {
        externalId: ENV_ID,
        kind: "gitpod-environment",
        name: "web main",
        startedAt: new Date("2026-03-01T08:30:00Z"),
        status: "ENVIRONMENT_PHASE_RUNNING",
        detail: "secret QUAY_AUTH: session s-41 (CONTENT_PHASE_READY)",
      },
    ]);
    expect(methods()).toEqual(["EnvironmentService/ListEnvironments"]);
    const documented = fixture<{ filter: Record<string, unknown>; pagination: Record<string, unknown> }>("gitpod/environmentservice.ListEnvironments.request.running-for-project.doc-example.json");
    const [sent] = bodies() as (typeof documented)[];
    expect(Object.keys(sent ?? {}).sort()).toEqual(Object.keys(documented).sort());
    expect(Object.keys(sent?.filter ?? {}).sort()).toEqual(Object.keys(documented.filter).sort());
    expect(sent).toEqual({ filter: { projectIds: [PROJECT], statusPhases: ["ENVIRONMENT_PHASE_STARTING", "ENVIRONMENT_PHASE_RUNNING", "ENVIRONMENT_PHASE_UPDATING"] }, pagination: { pageSize: 100 } });
    const [request] = fake.server.received;
    expect(request?.method).toBe("POST");
    expect(request?.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(request?.headers["connect-protocol-version"]).toBe("1");
  });

  it("follows pagination.nextToken over every page", async () => {
    for (let i = 1; i <= 5; i++) fake.gitpod.environments.push(gitpodEnvironment({ id: `env-${i}`, projectId: PROJECT, lastStartedAt: `2026-03-0${i}T00:00:00Z` }));
    const found = await target().discoverEnvironments(fake.consumer());
    expect(found.map((e) => e.externalId)).toEqual(["env-1", "env-2", "env-3", "env-4", "env-5"]);
    expect(methods()).toHaveLength(3);
    expect((bodies() as { pagination: unknown }[]).map((b) => b.pagination)).toEqual([{ pageSize: 100 }, { token: "2", pageSize: 100 }, { token: "4", pageSize: 100 }]);
  });

  it("keeps STARTING, RUNNING and UPDATING only, and only the consumer's project, even from a server that ignores the filter", async () => {
    for (const phase of ENVIRONMENT_PHASES) fake.gitpod.environments.push(gitpodEnvironment({ id: phase, projectId: PROJECT, phase }));
    fake.gitpod.environments.push(gitpodEnvironment({ id: "other-project", projectId: OTHER_PROJECT }));
    const filtered = await target().discoverEnvironments(fake.consumer());
    fake.gitpod.honourFilters = false;
    const unfiltered = await target().discoverEnvironments(fake.consumer());
    for (const found of [filtered, unfiltered]) {
      expect(found.map((e) => e.status)).toEqual(["ENVIRONMENT_PHASE_STARTING", "ENVIRONMENT_PHASE_RUNNING", "ENVIRONMENT_PHASE_UPDATING"]);
    }
    expect(RUNNING_GITPOD_PHASES).toEqual(["ENVIRONMENT_PHASE_STARTING", "ENVIRONMENT_PHASE_RUNNING", "ENVIRONMENT_PHASE_UPDATING"]);
  });

  it("startedAt is metadata.lastStartedAt, else status.lastStartedAt, else the creation time (said in detail); the name falls back to the id", async () => {
    const viaStatus = gitpodEnvironment({ id: "via-status", projectId: PROJECT });
    Object.assign(viaStatus.status, { lastStartedAt: "2026-03-02T10:00:00Z" });
    fake.gitpod.environments.push(gitpodEnvironment({ id: "via-metadata", name: "named", projectId: PROJECT, lastStartedAt: "2026-03-01T10:00:00Z" }), viaStatus, gitpodEnvironment({ id: "never", projectId: PROJECT, createdAt: "2026-01-01T00:00:00Z" }));
    const found = await target().discoverEnvironments(fake.consumer());
    expect(found.map((e) => [e.externalId, e.name, e.startedAt.toISOString()])).toEqual([
      ["via-metadata", "named", "2026-03-01T10:00:00.000Z"],
      ["via-status", "via-status", "2026-03-02T10:00:00.000Z"],
      ["never", "never", "2026-01-01T00:00:00.000Z"],
    ]);
    expect(found[2]?.detail).toContain("no lastStartedAt: start time is its creation time");
  });

  it("detail tells the loaded session, a newer session Gitpod holds, a failure, or that the secret is not reported", async () => {
    fake.gitpod.environments.push(
      gitpodEnvironment({ id: "behind", projectId: PROJECT, lastStartedAt: "2026-03-01T00:00:00Z", secret: { name: "QUAY_AUTH", session: "s-1", specSession: "s-2" } }),
      gitpodEnvironment({ id: "failed", projectId: PROJECT, lastStartedAt: "2026-03-01T00:00:00Z", secret: { name: "QUAY_AUTH", session: "s-2", phase: "CONTENT_PHASE_FAILED", failureMessage: `registry login failed for token ${TOKEN}` } }),
      gitpodEnvironment({ id: "other-secret", projectId: PROJECT, lastStartedAt: "2026-03-01T00:00:00Z", secret: { name: "NPM_TOKEN", session: "s-9" } }),
    );
    const found = await target().discoverEnvironments(fake.consumer());
    expect(found.map((e) => e.detail)).toEqual([
      "secret QUAY_AUTH: session s-1 (CONTENT_PHASE_READY); Gitpod holds session s-2, not loaded yet",
      "secret QUAY_AUTH: session s-2 (CONTENT_PHASE_FAILED); registry login failed for token [REDACTED]",
      "secret QUAY_AUTH: not reported in the environment's status",
    ]);
    texts.push(...found.map((e) => JSON.stringify(e)));
  });

  it("user scope lists the user's environments (creatorIds); organization scope every environment the token sees", async () => {
    fake.gitpod.environments.push(gitpodEnvironment({ id: "mine", creatorId: USER }), gitpodEnvironment({ id: "theirs", creatorId: "someone-else" }));
    expect((await target().discoverEnvironments(fake.consumer({ scope: { userId: USER } }))).map((e) => e.externalId)).toEqual(["mine"]);
    expect((await target().discoverEnvironments(fake.consumer({ scope: { organizationId: "org-1" } }))).map((e) => e.externalId)).toEqual(["mine", "theirs"]);
    expect((bodies() as { filter: unknown }[]).map((b) => b.filter)).toEqual([
      { creatorIds: [USER], statusPhases: RUNNING_GITPOD_PHASES },
      { statusPhases: RUNNING_GITPOD_PHASES },
    ]);
  });
});

describe("gitpod-secret: restartEnvironment", () => {
  const env = (id: string) => ({ externalId: id, kind: "gitpod-environment" as const, name: id });

  it("reads the environment back, then StopEnvironment { environmentId }, once", async () => {
    fake.gitpod.environments.push(gitpodEnvironment({ id: ENV_ID, name: "web main", projectId: PROJECT }));
    const outcome = await target().restartEnvironment(fake.consumer(), env(ENV_ID));
    expect(outcome).toEqual({ detail: `stopped Gitpod environment web main (${ENV_ID}); it loads the current secret when it starts again` });
    expect(methods()).toEqual(["EnvironmentService/GetEnvironment", "EnvironmentService/StopEnvironment"]);
    expect(bodies()[1]).toEqual({ environmentId: ENV_ID });
    expect(fake.server.received[1]?.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(fake.gitpod.environments[0]?.status.phase).toBe("ENVIRONMENT_PHASE_STOPPING");
  });

  it("refuses what is not a Gitpod environment, without a request", async () => {
    const e = await failure(target().restartEnvironment(fake.consumer(), { externalId: "cs-1", kind: "codespace", name: "cs-1" }));
    expect(e).toMatchObject({ code: "invalid_request", retryable: false });
    expect(fake.server.received).toHaveLength(0);
  });

  it("refuses an environment of another project, and stops nothing", async () => {
    fake.gitpod.environments.push(gitpodEnvironment({ id: "elsewhere", projectId: OTHER_PROJECT }));
    const e = await failure(target().restartEnvironment(fake.consumer(), env("elsewhere")));
    expect(e).toMatchObject({ code: "not_found", retryable: false });
    expect(e.message).toContain("nothing was stopped");
    expect(methods()).toEqual(["EnvironmentService/GetEnvironment"]);
    expect(fake.gitpod.environments[0]?.status.phase).toBe("ENVIRONMENT_PHASE_RUNNING");
  });

  it("an environment Gitpod does not know is not_found", async () => {
    const e = await failure(target().restartEnvironment(fake.consumer(), env("gone")));
    expect(e).toMatchObject({ code: "not_found", retryable: false });
    expect(methods()).toEqual(["EnvironmentService/GetEnvironment"]);
  });
});

describe("gitpod-secret: environment failures are classified DeliveryErrors without the token", () => {
  it.each([
    [401, { code: "unauthenticated", message: "invalid or expired personal access token" }, {}, "unauthorized", false, undefined],
    [404, { code: "not_found", message: "project not found" }, {}, "not_found", false, undefined],
    [429, { code: "resource_exhausted", message: "rate limited" }, { "retry-after": "12" }, "throttled", true, 12_000],
    [503, { code: "unavailable", message: `upstream hiccup, token=${TOKEN}` }, {}, "unavailable", true, undefined],
  ] as const)("HTTP %i → %s", async (status, body, headers, code, retryable, retryAfterMs) => {
    fake.gitpod.failures.push({ status, body, headers });
    const e = await failure(target().discoverEnvironments(fake.consumer()));
    expect(e).toMatchObject({ code, retryable });
    expect(e.retryAfterMs).toBe(retryAfterMs);
    expect(e.message).toContain("ListEnvironments");
  });

  it("a failure on the second page or on the stop call is classified the same way", async () => {
    for (let i = 1; i <= 3; i++) fake.gitpod.environments.push(gitpodEnvironment({ id: `env-${i}`, projectId: PROJECT }));
    fake.gitpod.failAt.set(2, { status: 429, body: { code: "resource_exhausted", message: "slow down" }, headers: { "retry-after": "3" } });
    const listing = await failure(target().discoverEnvironments(fake.consumer()));
    expect(listing).toMatchObject({ code: "throttled", retryable: true, retryAfterMs: 3000 });
    expect(methods()).toEqual(["EnvironmentService/ListEnvironments", "EnvironmentService/ListEnvironments"]);

    fake.gitpod.failAt.set(4, { status: 401, body: { code: "unauthenticated", message: "expired" } });
    const stop = await failure(target().restartEnvironment(fake.consumer(), { externalId: "env-1", kind: "gitpod-environment", name: "env-1" }));
    expect(stop).toMatchObject({ code: "unauthorized", retryable: false });
    expect(stop.message).toContain("StopEnvironment");
    expect(fake.gitpod.environments[0]?.status.phase).toBe("ENVIRONMENT_PHASE_RUNNING");
  });

  it("a missing token secret is not_found and no request is made", async () => {
    const e = await failure(target().discoverEnvironments(fake.consumer({ tokenSecret: "pullkeeper/nope" })));
    expect(e).toMatchObject({ code: "not_found", retryable: false });
    expect(fake.server.received).toHaveLength(0);
  });
});
