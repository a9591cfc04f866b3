/** Fake Harbor entry point: re-exports the fake and its types, HARBOR_ADMIN, and the useFakeHarbor() vitest helper. */
import type { CredentialRegistry } from "./credential-registry.js";
import type { FakeHarborOptions, HarborLogin } from "./fake-harbor-robots.js";
import { FakeHarbor } from "./fake-harbor-server.js";
import { expectClean, useProviderFake } from "./provider-fake.js";

/**
 * A local stand-in for Harbor's robot-account API (`/api/v2.0/robots…`), the operations
 * extracted into test/fixtures/provider-specs/harbor.json, with a real `docker-registry` behind it.
 *
 * - Every request is checked against the extracted Swagger description (provider-spec.ts); one
 *   that departs from it is answered 400 (Harbor's `{errors: [{code, message}]}`) and each
 *   departure is recorded in `violations`. Its own success answers are checked too
 *   (`checkResponse`), and a departure there is recorded as well.
 * - Basic auth: the admin the test configures; any other login 401, a known user without the
 *   robot permission (`others`) 403.
 * - Each robot's current secret is the password of an htpasswd user named as the robot's login
 *   (`robot$<project>+<name>` for a project robot, `robot$<name>` for a system one) in the
 *   CredentialRegistry: installed on create, replaced on refresh before the answer goes out (the
 *   old secret stops working at once, as in Harbor, which holds one secret per robot), removed
 *   on delete, disable and expiry (`tick(now)` moves the clock).
 * - Refresh (`PATCH /robots/{id}`, RobotSec): no secret → Harbor generates one and returns it; a
 *   given secret must be 8–128 characters with an upper-case letter, a lower-case letter and a
 *   digit (else 400), and the answer's secret is empty (Harbor's `RefreshSec` handler).
 * - Projects (`projects`, name → id, default `library` = 1): `GET /projects/{name}` with
 *   `X-Is-Resource-Name: true` answers the project's id; a project robot belongs to one. The list
 *   (`GET /robots?q=…`) is Harbor's: without `Level` only system robots, `Level=project` only
 *   with `ProjectID`; `name` in `q` matches the name without the `robot$` prefix.
 * - `maxRobots`: creating one more robot is refused (see ROBOT_QUOTA_MESSAGE).
 * - Scripted failures (`failNext`): a status with headers and body (429 ± Retry-After, 500, 503…),
 *   a connection reset, or no answer at all.
 * - Never logs anything; recorded requests carry neither the Authorization header's credentials
 *   nor a `secret` from a body.
 */

export { FakeHarbor } from "./fake-harbor-server.js";
export { type FakeHarborOptions, HARBOR_BASE_PATH, type HarborLogin, type HarborRequest, type HarborRobot, isValidHarborSecret, ROBOT_QUOTA_MESSAGE } from "./fake-harbor-robots.js";

/** A scripted answer; `match` sees the path without /api/v2.0. */
export type { ScriptedFailure } from "./provider-fake.js";

/** What useFakeHarbor sets up; read its fields inside tests and hooks. */
export interface FakeHarborWorld {
  readonly harbor: FakeHarbor;
  readonly registry: CredentialRegistry;
  readonly admin: HarborLogin;
}

export const HARBOR_ADMIN: HarborLogin = { username: "admin", password: "Harbor12345-admin" };

/**
 * Registers hooks: a credential registry and a FakeHarbor for the test file (started before all,
 * stopped after all); before each test every robot is deleted and the admin, quota and clock are
 * back to `options`; after each, the test fails on any violation or unconsumed scripted failure.
 */
export function useFakeHarbor(options: Omit<FakeHarborOptions, "registry" | "admin"> & { admin?: HarborLogin } = {}): FakeHarborWorld {
  const admin = options.admin ?? HARBOR_ADMIN;
  return useProviderFake(
    "useFakeHarbor",
    async (registry) => {
      const harbor = await FakeHarbor.start({ ...options, registry, admin });
      return { fake: harbor, world: { harbor, registry, admin } };
    },
    {
      stop: (harbor) => harbor.close(),
      before: async (harbor) => {
        await harbor.reset();
        harbor.admin = admin;
        harbor.maxRobots = options.maxRobots ?? Number.POSITIVE_INFINITY;
      },
      after: expectClean,
    },
  );
}
