/** Fake GitLab entry point: re-exports the fake and its types, and the useFakeGitLab() vitest helper. */
import { randomBytes } from "node:crypto";
import type { CredentialRegistry } from "./credential-registry.js";
import { FakeGitLab } from "./fake-gitlab-server.js";
import { expectClean, useProviderFake } from "./provider-fake.js";

/**
 * A local stand-in for the parts of GitLab's REST API (/api/v4) that mint registry credentials:
 * project and group deploy tokens (create, list, get, delete) and project and group access tokens
 * (create, list, get, revoke), checked request by request against GitLab's published description as
 * extracted into test/fixtures/provider-specs/gitlab.json.
 *
 * - Auth: `PRIVATE-TOKEN` header (or `private_token` query) must be `adminToken` (401 otherwise);
 *   a token in `limitedTokens` is known but may not manage tokens (403).
 * - A request the description refuses is answered 400 and recorded in `violations`; the stand-in's
 *   own success answers are checked against the description's response schemas too.
 * - Every live token that can pull is an htpasswd user of the CredentialRegistry passed in:
 *   deploy tokens with `read_registry` under their own `username` (gitlab+deploy-token-<id> by
 *   default); access tokens, which log in with any username, under their bot user's name, or
 *   with `accessTokenLogin = "name"` as a shared login under the token's name
 *   (`registryLoginFor(id)`). Deleting, revoking or expiring (`tick(now)`) removes the user
 *   before the answer goes out.
 * - As the description has it, the access-token `scopes` enum has no `read_registry` (GitLab's
 *   documentation lists it): such a request is a violation unless `allowDocumentedRegistryScopes`
 *   is set. An access token with `api`, `read_registry` or `write_registry` opens the registry.
 * - Lists: deploy tokens by `active`, `page` and `per_page` (with GitLab's `x-total`/`x-next-page`
 *   headers); access tokens by `state` (`active`/`inactive`; revoked and expired tokens are
 *   inactive), every one in one answer, since the description declares no paging parameters for
 *   them. Listed entities carry no `token`.
 * - `failNext()` scripts failures: a status with headers and body, a reset connection, a hang.
 * - Token values never appear in `requests`, `violations` or any message.
 */

export type { RequestMatch, ScriptedOutcome as ScriptedFailure } from "./provider-fake.js";
export { FakeGitLab } from "./fake-gitlab-server.js";
export type { GitLabRequest, GitLabToken, GitLabTokenKind } from "./fake-gitlab-tokens.js";

/** What useFakeGitLab sets up for a test file; read its fields inside tests and hooks. */
export interface FakeGitLabWorld {
  readonly gitlab: FakeGitLab;
  readonly registry: CredentialRegistry;
  /** The admin PRIVATE-TOKEN the fake accepts. */
  readonly adminToken: string;
}

/**
 * Registers hooks: a credential registry and a FakeGitLab in front of it for the test file,
 * stopped after it; after each test, unused scripted failures are dropped and the test fails on
 * any violation it did not take (`takeViolations()`).
 */
export function useFakeGitLab(): FakeGitLabWorld {
  return useProviderFake(
    "useFakeGitLab",
    async (registry) => {
      const adminToken = `glpat-admin-${randomBytes(10).toString("hex")}`;
      const gitlab = await FakeGitLab.start(registry, { adminToken });
      return { fake: gitlab, world: { gitlab, registry, adminToken } };
    },
    {
      stop: (gitlab) => gitlab.close(),
      after: (gitlab) => {
        gitlab.resetScript();
        expectClean(gitlab);
      },
    },
  );
}
