/** Fake Azure Container Registry entry point: re-exports the fake and its types, the default principal, and the useFakeAcr() vitest helper. */
import type { CredentialRegistry } from "./credential-registry.js";
import type { FakeAcrOptions, ServicePrincipal } from "./fake-acr-tokens.js";
import { FakeAcr } from "./fake-acr-server.js";
import { expectClean, useProviderFake } from "./provider-fake.js";

/**
 * A local stand-in for the Azure Resource Manager operations on ACR tokens that the acr-token
 * source calls — `Registries_GenerateCredentials`, `Tokens_Get`, `Tokens_Update`, as extracted into
 * test/fixtures/provider-specs/azure-acr.json (api-version 2025-04-01) — and for Microsoft Entra
 * ID's client-credentials token endpoint, on one loopback server, with a real docker-registry
 * behind it.
 *
 * - Entra ID (`POST /{tenant}/oauth2/v2.0/token`, form `grant_type=client_credentials`,
 *   `client_id`, `client_secret`, `scope=https://management.azure.com/.default`, or the fake's own
 *   `<url>/.default`, as a client asks another cloud's ARM for its own URL) answers
 *   `{token_type: "Bearer", expires_in, access_token}`. The repo holds no published description of
 *   this endpoint, so it is checked by hand (content type, fields) and its error answers (400
 *   `unauthorized_client`/`invalid_request`/`invalid_scope`, 401 `invalid_client`, with AADSTS
 *   codes) are modelled on Microsoft's documentation, not on a spec.
 * - ARM requests are checked against the description (a departure is answered 400 and recorded in
 *   `violations`, as are the stand-in's own answers that depart from it); they need
 *   `Authorization: Bearer <an access token the endpoint issued>` (401 otherwise) and the token's
 *   principal must be `admin` (a known principal in `others` gets 403 AuthorizationFailed).
 *   `api-version` must be 2025-04-01; a path outside the configured subscription, resource group
 *   or registry is 404.
 * - A token (`tokens`, seeded; ACR's tokens and scope maps are made by a person, not by the source)
 *   has two password slots, `password1` and `password2`, both valid at once. Each password is a
 *   shared login of the token's name in the CredentialRegistry (`installShared`): installed when
 *   GenerateCredentials makes it (the slot's previous password removed, `removeShared`, before the
 *   answer goes out), removed when Tokens_Update leaves its slot out of `credentials.passwords`
 *   (as `az acr token credential delete` does), when the token is disabled, and when its expiry
 *   passes on the fake's clock (`tick`).
 * - GenerateCredentials answers 200 `{username, passwords: [{name, value, creationTime, expiry}]}`
 *   with the regenerated slot only (both when `name` is absent). The description also allows 202
 *   with a `Location` (a long-running operation, final state via Location); with `longRunning`
 *   set, the fake answers so and the Location (not in the description) answers 202 `polls` times,
 *   then 200 with the result. Which of the two Azure actually answers is not confirmed here.
 * - Tokens_Update answers 200 with the token (the description also allows 201 with
 *   Azure-AsyncOperation; the fake never does). No quota applies: ACR limits how many tokens a
 *   registry has, not how often a password is regenerated.
 * - `failNext()` scripts failures: a status with headers and body, a reset, a hang.
 * - Recorded requests carry neither the bearer, nor `client_secret`, nor a password value.
 */

export { FakeAcr } from "./fake-acr-server.js";
export { ACR_API_VERSION, ACR_SLOTS, type AcrRequest, type AcrSlot, type AcrTokenView, ARM_SCOPE, type FakeAcrOptions, type ServicePrincipal } from "./fake-acr-tokens.js";
export type { ScriptedFailure } from "./provider-fake.js";

export const ACR_TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47";
export const ACR_SUBSCRIPTION = "00000000-1111-4222-8333-444444444444";
export const ACR_ADMIN: ServicePrincipal = { clientId: "9a1b2c3d-0000-4000-8000-00000000a11e", clientSecret: "Q~pullkeeper.admin-secret_0123456789" };

/** The options the tests use unless they say otherwise: tenant, subscription, group `pullkeeper-rg`, registry `pullkeeperacr`. */
export function defaultAcrOptions(registry: CredentialRegistry, overrides: Partial<FakeAcrOptions> = {}): FakeAcrOptions {
  return { registry, tenant: ACR_TENANT, subscription: ACR_SUBSCRIPTION, resourceGroup: "pullkeeper-rg", registryName: "pullkeeperacr", admin: ACR_ADMIN, ...overrides };
}

export interface FakeAcrWorld {
  readonly acr: FakeAcr;
  readonly registry: CredentialRegistry;
}

/**
 * Registers hooks: a credential registry and a FakeAcr for the test file (started before all,
 * stopped after all); before each test the tokens, the admin and the clock are back to `options`;
 * after each, the test fails on any violation or unconsumed scripted failure.
 */
export function useFakeAcr(options: Omit<Partial<FakeAcrOptions>, "registry"> = {}): FakeAcrWorld {
  return useProviderFake(
    "useFakeAcr",
    async (registry) => {
      const acr = await FakeAcr.start(defaultAcrOptions(registry, options));
      return { fake: acr, world: { acr, registry } };
    },
    {
      stop: (acr) => acr.close(),
      before: async (acr) => {
        await acr.reset();
        acr.admin = options.admin ?? ACR_ADMIN;
      },
      after: expectClean,
    },
  );
}
