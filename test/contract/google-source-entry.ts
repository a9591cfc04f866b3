import { randomUUID } from "node:crypto";
import { FakeGoogle, TEST_PROVIDER, TEST_SERVICE_ACCOUNT } from "../support/fake-google.js";
import { providerSourceEntry } from "./provider-source-entry.js";

/**
 * The Google Artifact Registry source's contract entry: its runtime's minter signs the function's
 * AWS identity (packages/aws's signer, with made-up keys), and exchanges it through the fake Google
 * (STS and IAM Credentials, each request checked against their discovery documents) for a service
 * account's access token, which the fake installs in a real docker-registry as a login of
 * `oauth2accesstoken`.
 */
export const googleEntry = providerSourceEntry({
  sourceType: "gar-token",
  provider: "Google",
  description: "Google's API descriptions",
  registry: { id: "gar", kind: "generic" },
  startFake: (registry) => FakeGoogle.start(registry, { provider: TEST_PROVIDER, serviceAccounts: [TEST_SERVICE_ACCOUNT] }),
  source: (google) => ({ serviceAccount: TEST_SERVICE_ACCOUNT, workloadIdentityProvider: TEST_PROVIDER, api: { sts: google.url, iamCredentials: google.url } }),
  obtain: { by: "minter" },
  failNext: (google, failure) => google.failNext(failure),
  faults: (google) => ({
    // The federated principal may no longer impersonate the service account: 403 PERMISSION_DENIED.
    admin_rejected: () => void google.serviceAccounts.clear(),
    // Google has no limit on live access tokens to reach.
    quota: () => false,
  }),
  // An access token without its expiry: a token the refresh could not schedule, and nothing to quote back.
  breakUpstream: (google, { keepHidden }) => {
    const value = `ya29.broken-${randomUUID()}`;
    keepHidden(value);
    google.failNext({ status: 200, body: { accessToken: value }, match: (r) => r.path.endsWith(":generateAccessToken") });
  },
  violations: (google) => google.violations,
  stopFake: (google) => google.close(),
});
