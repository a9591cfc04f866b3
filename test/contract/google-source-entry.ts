import { randomUUID } from "node:crypto";
import { type MintPorts, type Registry, SOURCE_MODULES, systemClock, modelSource, type RegistrySource } from "@pullkeeper/core";
import { FetchProviderHttp } from "@pullkeeper/registry";
import { awsCallerIdentity } from "../../packages/aws/src/gcp-subject-token.js";
import { startCredentialRegistry } from "../support/credential-registry.js";
import { FakeGoogle, TEST_PROVIDER, TEST_SERVICE_ACCOUNT } from "../support/fake-google.js";
import type { ProviderFault, SourceContractEntry, SourceHarness } from "./source-contract.js";

/**
 * The Google Artifact Registry source's contract entry: its runtime's minter (the module's
 * `load()`) signs the function's AWS identity (packages/aws's signer, with made-up keys), and
 * exchanges it through the fake Google (STS and IAM Credentials, each request checked against
 * their discovery documents) for a service account's access token, which the fake installs in a
 * real docker-registry as a login of `oauth2accesstoken`: "the upstream holds it" is the registry's answer.
 */
export const googleEntry: SourceContractEntry = {
  sourceType: "gar-token",
  async start(): Promise<SourceHarness> {
    const module = SOURCE_MODULES.find((m) => m.type === "gar-token");
    const runtime = (await module?.load?.())?.default;
    if (module === undefined || runtime?.minter === undefined) throw new Error("no gar-token module with a minter");
    const registry = await startCredentialRegistry();
    const google = await FakeGoogle.start(registry, { provider: TEST_PROVIDER, serviceAccounts: [TEST_SERVICE_ACCOUNT] });
    const parsed = module.schema.parse({ type: "gar-token", serviceAccount: TEST_SERVICE_ACCOUNT, workloadIdentityProvider: TEST_PROVIDER, api: { sts: google.url, iamCredentials: google.url } });
    const entry = { id: "gar", host: registry.host, kind: "generic", secret: "pullkeeper/gar", source: modelSource(parsed as RegistrySource) } as Registry;
    const aws = { accessKeyId: "AKIAFAKECONTRACT0001", secretAccessKey: `secret-${randomUUID()}`, sessionToken: `session-${randomUUID()}` };
    const ports: MintPorts = {
      tokens: {
        mint: () => Promise.reject(new Error("Google's tokens are not ECR's")),
      },
      http: new FetchProviderHttp({ timeoutMs: 1000 }),
      awsCallerIdentity: awsCallerIdentity({ region: "eu-west-1", credentials: aws }),
      clock: systemClock,
    };
    const minter = runtime.minter(entry, ports);
    const produced: string[] = [aws.secretAccessKey, aws.sessionToken];
    const every = () => true;
    const faults: Record<ProviderFault, () => void | false> = {
      // The federated principal may no longer impersonate the service account: 403 PERMISSION_DENIED.
      admin_rejected: () => void google.serviceAccounts.clear(),
      // Google has no limit on live access tokens to reach.
      quota: () => false,
      throttled_retry_after: () => google.failNext({ status: 429, headers: { "retry-after": "30" }, match: every }),
      throttled: () => google.failNext({ status: 429, match: every }),
      server: () => google.failNext({ status: 503, match: every }),
      reset: () => google.failNext({ reset: true, match: every }),
      hang: () => google.failNext({ hang: true, match: every }),
    };
    return {
      obtain: async () => {
        const minted = await minter.mint();
        produced.push(minted.credential.password.reveal());
        return { credential: minted.credential, expiresAt: minted.expiresAt };
      },
      holds: async (c) => (await registry.basic(c.username, c.password.reveal())) === 200,
      values: () => produced,
      failProvider: (fault) => faults[fault](),
      breakUpstream: () => {
        // An access token without its expiry: a token the refresh could not schedule, and nothing to quote back.
        const value = `ya29.broken-${randomUUID()}`;
        produced.push(value);
        google.failNext({ status: 200, body: { accessToken: value }, match: (r) => r.path.endsWith(":generateAccessToken") });
      },
      close: async () => {
        const violations = [...google.violations];
        await google.close();
        await registry.stop();
        if (violations.length > 0) throw new Error(`requests departing from Google's API descriptions: ${violations.join("; ")}`);
      },
    };
  },
};
