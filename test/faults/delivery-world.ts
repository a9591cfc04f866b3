import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { EventBridgeClient, PutEventsCommand } from "@aws-sdk/client-eventbridge";
import { SendMessageBatchCommand, SQSClient } from "@aws-sdk/client-sqs";
import { DynamoLedger, DynamoRateLimiter, EventBridgeBus, SecretsManagerVault, SqsDeliveryQueue } from "@pullkeeper/aws";
import { type DeliveryRequest, fromDeliveryMessage, type PropagationService, type PullkeeperConfig } from "@pullkeeper/core";
import { mockClient } from "aws-sdk-client-mock";
import { propagationService } from "../../packages/aws/src/lambda/wiring.js";
import { CONTRACT_PASSWORD, CONTRACT_REGISTRY, CONTRACT_SECRET_ARN, CONTRACT_USERNAME, CONTRACT_VERSION, type TargetHarness } from "../contract/target-contract.js";
import type { EmbeddedDynamo } from "../support/dynalite.js";
import { FakeSecretsManager } from "../support/fake-secrets-manager.js";
import type { DynamoFaultProxy } from "./dynamo-fault-proxy.js";
import { injectFaults, type SdkFaults } from "./sdk-faults.js";

/**
 * The propagation engine as the planner and deliver functions build it (wiring.ts), over the AWS
 * adapters: DynamoLedger and the shared DynamoRateLimiter on dynalite behind the fault proxy,
 * Secrets Manager, SQS and EventBridge at their SDK clients with faults injectable, one consumer
 * behind a target contract entry's harness, and a clock the test moves to the next run.
 */

/** The DynamoDB client's own time budget and retries, small so a hang or a retried fault ends fast. */
export function dynamoClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({ endpoint, region: "eu-west-1", credentials: { accessKeyId: "test", secretAccessKey: "test" }, maxAttempts: 2, requestHandler: { requestTimeout: 250, throwOnRequestTimeout: true, connectionTimeout: 250 } });
}

export interface DeliveryWorld {
  readonly service: PropagationService;
  readonly ledger: DynamoLedger;
  readonly harness: TargetHarness;
  readonly faults: { readonly secretsManager: SdkFaults; readonly sqs: SdkFaults; readonly eventBridge: SdkFaults };
  /** The detail-type of every event EventBridge accepted, in order. */
  readonly published: string[];
  /** Every delivery message SQS accepted, in order, parsed back. */
  readonly queued: DeliveryRequest[];
  /** Moves the clock forward: the next scheduled run, a retry's due time. */
  advance(ms: number): void;
  readonly registryId: string;
  readonly versionId: string;
}

export async function deliveryWorld(dynamo: EmbeddedDynamo, proxy: DynamoFaultProxy, harness: TargetHarness): Promise<DeliveryWorld> {
  let offset = 0;
  const clock = { now: () => new Date(Date.now() + offset) };
  const tableName = await dynamo.createLedgerTable();
  const client = dynamoClient(proxy.endpoint);
  const ledger = new DynamoLedger({ client, tableName });
  const rateLimiter = new DynamoRateLimiter({ client, tableName, limits: {}, clock: () => clock.now().getTime(), maxWaitMs: 0 });

  // The registry's secret, at the contract's ARN and version (the AWS targets' fakes describe that one).
  const sm = new FakeSecretsManager();
  sm.secrets.set("pullkeeper/dockerhub", {
    arn: CONTRACT_SECRET_ARN,
    name: "pullkeeper/dockerhub",
    versions: new Map([[CONTRACT_VERSION, { value: JSON.stringify({ username: CONTRACT_USERNAME, password: CONTRACT_PASSWORD }), stages: new Set(["AWSCURRENT"]), created: new Date(Date.now() - 60_000) }]]),
  });
  const secretsManager = injectFaults(sm.client);

  const queued: DeliveryRequest[] = [];
  const sqsClient = new SQSClient({ region: "eu-west-1", maxAttempts: 1 });
  mockClient(sqsClient)
    .on(SendMessageBatchCommand)
    .callsFake((input: { Entries: { Id: string; MessageBody: string }[] }) => {
      queued.push(...input.Entries.map((e) => fromDeliveryMessage(e.MessageBody)));
      return { Successful: input.Entries.map((e) => ({ Id: e.Id, MessageId: `m-${e.Id}`, MD5OfMessageBody: "x" })), Failed: [] };
    });
  const sqs = injectFaults(sqsClient);
  const published: string[] = [];
  const ebClient = new EventBridgeClient({ region: "eu-west-1", maxAttempts: 1 });
  mockClient(ebClient)
    .on(PutEventsCommand)
    .callsFake((input: { Entries: { DetailType?: string }[] }) => {
      published.push(...input.Entries.map((e) => String(e.DetailType)));
      return { FailedEntryCount: 0, Entries: input.Entries.map(() => ({ EventId: "e" })) };
    });
  const eventBridge = injectFaults(ebClient);

  const config = { registries: [CONTRACT_REGISTRY], consumers: [], settings: {} } as unknown as PullkeeperConfig;
  const service = propagationService({
    adapters: { vault: new SecretsManagerVault(sm.client), ledger: ledger as never, bus: new EventBridgeBus({ busName: "pullkeeper-faults", client: ebClient, minBackoffMs: 1 }), clock },
    config,
    consumers: [harness.consumer],
    targets: new Map([[harness.target.kind, harness.target]]),
    queue: new SqsDeliveryQueue({ queueUrl: "https://sqs.eu-west-1.amazonaws.com/123456789012/pullkeeper-deliveries", client: sqsClient }),
    rateLimiter,
    delivery: { timeoutMs: 5_000 },
  });
  return {
    service,
    ledger,
    harness,
    faults: { secretsManager, sqs, eventBridge },
    published,
    queued,
    advance: (ms) => void (offset += ms),
    registryId: CONTRACT_REGISTRY.id,
    versionId: CONTRACT_VERSION,
  };
}
