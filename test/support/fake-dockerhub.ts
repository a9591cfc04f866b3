/** Fake Docker Hub entry point: re-exports the fake and its types, and the useFakeDockerHub() vitest helper. */
import type { CredentialRegistry } from "./credential-registry.js";
import { FakeDockerHub } from "./fake-dockerhub-server.js";
import type { DockerHubOptions } from "./fake-dockerhub-tokens.js";
import { useProviderFake } from "./provider-fake.js";

/**
 * A local stand-in for the part of Docker Hub's API that docker-hub.json describes (extracted from
 * docker/docs `content/reference/api/hub/latest.yaml`, see test/fixtures/provider-specs/SOURCES.md):
 *
 * - `POST /v2/auth/token` {identifier, secret} → {access_token} for the admin login the test sets;
 *   anything else 401 in Docker Hub's `error` shape {errinfo, detail, message}.
 * - Personal access tokens: `POST /v2/access-tokens` (201, `token` shown this once),
 *   `GET /v2/access-tokens?page&page_size` (the admin's own tokens, `{count, next, previous,
 *   active_count, results}`, each `token` blank; `next`/`previous` are "" when there is no such
 *   page, as the description types them string, not nullable),
 *   `GET`/`PATCH {is_active, token_label}`/`DELETE /v2/access-tokens/{uuid}` (token blank).
 * - Organization access tokens: `POST`/`GET /v2/orgs/{name}/access-tokens`,
 *   `GET`/`PATCH`/`DELETE /v2/orgs/{org_name}/access-tokens/{access_token_id}`.
 *
 * Every request is checked against docker-hub.json with provider-spec.ts; one that departs from it
 * is answered 400 and its violations recorded in `violations` (tests assert none); the fake's own
 * success answers are checked with `checkResponse()` into the same list. Every token operation
 * needs `Authorization: Bearer <access_token>` from /v2/auth/token (401 otherwise).
 *
 * Each minted token is a shared login of the CredentialRegistry passed in
 * (`installShared(owner, token)`): like Docker Hub, the registry takes any live token of an account
 * or organization with the account or organization name as the username, see
 * `registryLoginFor(token)` → `{ username: owner, password: token }`. It is installed before the
 * create answer goes out, removed (that one login only) before the answer to a delete or a
 * deactivation, restored on reactivation; one past `expires_at` on the fake's clock is removed at
 * the next request or `tick()`.
 *
 * Scripted failures (`failNext`): any status/headers/body (429 with or without Retry-After, 500,
 * 503…), a connection reset, or a hang (no answer until the client gives up or the fake stops).
 * `maxTokens` caps live tokens per account and per organization (Docker Hub limits them by plan).
 *
 * Token values never leave the fake except in the one create answer: `requests` holds no
 * Authorization header and no `secret`, violations name properties, never values, and nothing is
 * logged.
 */

export { FakeDockerHub } from "./fake-dockerhub-server.js";
export { ACCESS_TOKEN_TTL_MS, type DockerHubFailure, type DockerHubOptions, type DockerHubRequest, type DockerHubTokenView, TOKEN_LIMIT_STATUS } from "./fake-dockerhub-tokens.js";

/** What useFakeDockerHub sets up for a test file; read its fields inside tests and hooks. */
export interface FakeDockerHubWorld {
  readonly hub: FakeDockerHub;
  readonly registry: CredentialRegistry;
}

/** beforeAll/afterAll hooks: a credential registry and a fake Docker Hub minting into it, per test file. */
export function useFakeDockerHub(options: Omit<DockerHubOptions, "registry"> = {}): FakeDockerHubWorld {
  return useProviderFake(
    "useFakeDockerHub",
    async (registry) => {
      const hub = await FakeDockerHub.start({ ...options, registry });
      return { fake: hub, world: { hub, registry } };
    },
    { stop: (hub) => hub.stop() },
  );
}
