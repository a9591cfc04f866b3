import { ECRClient, GetAuthorizationTokenCommand } from "@aws-sdk/client-ecr";
import { ECRPUBLICClient, GetAuthorizationTokenCommand as GetPublicAuthorizationTokenCommand } from "@aws-sdk/client-ecr-public";
import { EventBridgeClient, PutEventsCommand } from "@aws-sdk/client-eventbridge";
import { DynamoLedger, EcrTokenSource, EventBridgeBus, HmacFingerprinter, SecretsManagerVault } from "@pullkeeper/aws";
import { parseConfig, type Registry, type RefreshService } from "@pullkeeper/core";
import { RegistryV2Verifier } from "@pullkeeper/registry";
import { randomBytes } from "node:crypto";
import { mockClient } from "aws-sdk-client-mock";
import { refreshService } from "../../packages/aws/src/lambda/wiring.js";
import type { EmbeddedDynamo } from "../support/dynalite.js";
import { FakeSecretsManager } from "../support/fake-secrets-manager.js";
import type { TestRegistry } from "../support/registry.js";
import type { DynamoFaultProxy } from "./dynamo-fault-proxy.js";
import { dynamoClient } from "./delivery-world.js";
import { injectFaults, type SdkFaults } from "./sdk-faults.js";

/**
 * The refresh use case as the refresh function builds it (wiring.ts): ECR and ECR Public tokens
 * minted through EcrTokenSource over their SDK clients, verified by the registry verifier against
 * a real docker-registry, staged and promoted in Secrets Manager (its SDK client over the fake),
 * recorded in DynamoLedger on dynalite behind the fault proxy, announced on EventBridge.
 */

export type TokenKind = "ecr" | "ecr-public";

export interface RefreshWorld {
  readonly service: RefreshService;
  readonly registries: readonly Registry[];
  readonly ledger: DynamoLedger;
  readonly sm: FakeSecretsManager;
  readonly faults: { readonly ecr: SdkFaults; readonly ecrPublic: SdkFaults; readonly secretsManager: SdkFaults; readonly eventBridge: SdkFaults };
  /** Every `Credential Rotated` event EventBridge accepted: what consumers are told. */
  readonly announced: { readonly registryId: string; readonly versionId: string }[];
  /** Every password ECR handed out so far; the last is the one the registry accepts. */
  readonly minted: string[];
  /** The registry's id for a token kind. */
  registryId(kind: TokenKind): string;
  /** The password AWSCURRENT holds for the registry. */
  currentPassword(registryId: string): string;
  currentVersion(registryId: string): string | undefined;
}

const ACCOUNT = "123456789012";

export async function refreshWorld(dynamo: EmbeddedDynamo, proxy: DynamoFaultProxy, registry: TestRegistry): Promise<RefreshWorld> {
  const config = parseConfig(`
registries:
  - { id: prod-ecr, host: ${ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com, kind: ecr, source: { type: ecr-token, account: "${ACCOUNT}", region: eu-west-1 }, secret: pullkeeper/prod-ecr, verify: { endpoint: "${registry.url}" } }
  - { id: public-ecr, host: public.ecr.aws, kind: ecr-public, source: { type: ecr-token, account: "${ACCOUNT}", region: us-east-1 }, secret: pullkeeper/public-ecr, verify: { endpoint: "${registry.url}" } }
`);
  const minted: string[] = [];
  // Each mint is a new password, and only the newest opens the registry (as a new ECR token would).
  const mint = async () => {
    const password = `ecr-token-${randomBytes(9).toString("base64url")}`;
    minted.push(password);
    await registry.setUsers({ AWS: password });
    return { token: Buffer.from(`AWS:${password}`).toString("base64"), expiresAt: new Date(Date.now() + 12 * 3600_000) };
  };
  const ecrClient = new ECRClient({ region: "eu-west-1", maxAttempts: 1 });
  mockClient(ecrClient)
    .on(GetAuthorizationTokenCommand)
    .callsFake(async () => {
      const { token, expiresAt } = await mint();
      return { authorizationData: [{ authorizationToken: token, expiresAt, proxyEndpoint: `https://${ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com` }] };
    });
  const ecrPublicClient = new ECRPUBLICClient({ region: "us-east-1", maxAttempts: 1 });
  mockClient(ecrPublicClient)
    .on(GetPublicAuthorizationTokenCommand)
    .callsFake(async () => {
      const { token, expiresAt } = await mint();
      return { authorizationData: { authorizationToken: token, expiresAt } };
    });
  const ecr = injectFaults(ecrClient);
  const ecrPublic = injectFaults(ecrPublicClient);

  const sm = new FakeSecretsManager();
  for (const r of config.registries) sm.seed(r.secret, JSON.stringify({ username: "AWS", password: "seeded-before-the-first-refresh" }));
  const secretsManager = injectFaults(sm.client);

  const announced: { registryId: string; versionId: string }[] = [];
  const ebClient = new EventBridgeClient({ region: "eu-west-1", maxAttempts: 1 });
  mockClient(ebClient)
    .on(PutEventsCommand)
    .callsFake((input: { Entries: { DetailType?: string; Detail?: string }[] }) => {
      for (const e of input.Entries) if (e.DetailType === "Credential Rotated") announced.push(JSON.parse(e.Detail ?? "{}") as { registryId: string; versionId: string });
      return { FailedEntryCount: 0, Entries: input.Entries.map(() => ({ EventId: "e" })) };
    });
  const eventBridge = injectFaults(ebClient);

  const ledger = new DynamoLedger({ client: dynamoClient(proxy.endpoint), tableName: await dynamo.createLedgerTable() });
  const service = refreshService({
    adapters: {
      vault: new SecretsManagerVault(sm.client),
      ledger: ledger as never,
      bus: new EventBridgeBus({ busName: "pullkeeper-faults", client: ebClient, minBackoffMs: 1 }),
      fingerprints: new HmacFingerprinter(randomBytes(32)),
      clock: { now: () => new Date() },
      verifier: new RegistryV2Verifier({ timeoutMs: 2_000 }),
    },
    config,
    tokens: new EcrTokenSource({ ecr: () => ecrClient, ecrPublic: () => ecrPublicClient }),
  });
  const secretOf = (id: string) => config.registries.find((r) => r.id === id)!.secret;
  const currentVersion = (id: string) => Object.entries(sm.stages(secretOf(id))).find(([, stages]) => stages.includes("AWSCURRENT"))?.[0];
  return {
    service,
    registries: config.registries,
    ledger,
    sm,
    faults: { ecr, ecrPublic, secretsManager, eventBridge },
    announced,
    minted,
    registryId: (kind) => (kind === "ecr" ? "prod-ecr" : "public-ecr"),
    currentVersion,
    currentPassword: (id) => {
      const version = sm.secrets.get(secretOf(id))?.versions.get(currentVersion(id) ?? "");
      return (JSON.parse(version?.value ?? "{}") as { password?: string }).password ?? "";
    },
  };
}
