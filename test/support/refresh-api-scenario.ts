import { ECRClient } from "@aws-sdk/client-ecr";
import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { DescribeSecretCommand, GetSecretValueCommand, PutSecretValueCommand, SecretsManagerClient, UpdateSecretVersionStageCommand } from "@aws-sdk/client-secrets-manager";
import { STSClient } from "@aws-sdk/client-sts";
import { DynamoLedger, EcrTokenSource, EventBridgeBus, HmacFingerprinter, SecretsManagerVault } from "@pullkeeper/aws";
import { refreshService } from "@pullkeeper/aws/lambda";
import { parseConfig, type RefreshReport, systemClock } from "@pullkeeper/core";
import { randomBytes } from "node:crypto";
import { AwsCallCounter, answerWith, awsJson } from "./aws-call-counter.js";
import { startDynalite } from "./dynalite.js";
import { FakeSecretsManager } from "./fake-secrets-manager.js";

/**
 * The refresh function's service (the wiring it runs with on Lambda) over 100 ECR registries in
 * 3 accounts × 2 regions, each account's tokens minted through its own role. Every AWS client
 * carries AwsCallCounter's middleware; ECR, STS, Secrets Manager (FakeSecretsManager's model)
 * and EventBridge answer at the HTTP level, DynamoDB is dynalite. `run` refreshes and returns
 * the report with the calls that run made.
 */
export const ACCOUNTS = ["111111111111", "222222222222", "333333333333"] as const;
export const REGIONS = ["eu-west-1", "us-east-1"] as const;
export const SCOPES = ACCOUNTS.length * REGIONS.length;

const CREDENTIALS = { accessKeyId: "AKIDPULLKEEPERTEST", secretAccessKey: "pullkeeper-test" };

export interface RefreshApiScenario {
  readonly registries: number;
  run(options?: { readonly force?: boolean }): Promise<{ report: RefreshReport; calls: AwsCallCounter }>;
  stop(): Promise<void>;
}

export async function refreshApiScenario(registries = 100): Promise<RefreshApiScenario> {
  const calls = new AwsCallCounter();
  const dynamo = await startDynalite();
  const tableName = await dynamo.createLedgerTable();
  const secrets = new FakeSecretsManager();
  let minted = 0;

  const lines: string[] = [];
  for (let i = 0; i < registries; i++) {
    const account = ACCOUNTS[i % ACCOUNTS.length] as string;
    const region = REGIONS[Math.floor(i / ACCOUNTS.length) % REGIONS.length] as string;
    const secret = `pullkeeper/ecr-${i}`;
    secrets.seed(secret, JSON.stringify({ username: "AWS", password: `initial-${i}` }));
    lines.push(
      `  - { id: ecr-${i}, host: ${account}.dkr.ecr.${region}.amazonaws.com, kind: ecr, secret: ${secret}, source: { type: ecr-token, account: "${account}", region: ${region}, roleArn: "arn:aws:iam::${account}:role/pullkeeper-refresh" } }`,
    );
  }
  const config = parseConfig(`registries:\n${lines.join("\n")}\n`);

  const ecr = answerWith((operation) => {
    if (operation !== "GetAuthorizationToken") return { status: 400, body: JSON.stringify({ __type: "InvalidParameterException", message: operation }) };
    minted++;
    const token = Buffer.from(`AWS:ecr-token-${minted}-${randomBytes(8).toString("hex")}`).toString("base64");
    return { body: awsJson({ authorizationData: [{ authorizationToken: token, expiresAt: new Date(Date.now() + 12 * 3600_000), proxyEndpoint: "https://ecr.example" }] }) };
  });
  const sts = answerWith((operation, input) => ({
    contentType: "text/xml",
    body:
      operation === "AssumeRole"
        ? `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult><Credentials><AccessKeyId>ASIAPULLKEEPERTEST</AccessKeyId><SecretAccessKey>assumed</SecretAccessKey><SessionToken>session</SessionToken><Expiration>${new Date(Date.now() + 900_000).toISOString()}</Expiration></Credentials><AssumedRoleUser><Arn>${String(input.RoleArn)}/pullkeeper-refresh</Arn><AssumedRoleId>AROA:pullkeeper-refresh</AssumedRoleId></AssumedRoleUser></AssumeRoleResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></AssumeRoleResponse>`
        : `<ErrorResponse><Error><Code>InvalidAction</Code><Message>${operation}</Message></Error></ErrorResponse>`,
  }));
  // The calls SecretsManagerVault makes, answered by FakeSecretsManager's model of the service.
  const send = (operation: string, input: never): Promise<unknown> | undefined => {
    if (operation === "DescribeSecret") return secrets.client.send(new DescribeSecretCommand(input));
    if (operation === "GetSecretValue") return secrets.client.send(new GetSecretValueCommand(input));
    if (operation === "PutSecretValue") return secrets.client.send(new PutSecretValueCommand(input));
    if (operation === "UpdateSecretVersionStage") return secrets.client.send(new UpdateSecretVersionStageCommand(input));
    return undefined;
  };
  const secretsManager = answerWith(async (operation, input) => {
    const reply = send(operation, input as never);
    if (!reply) return { status: 400, body: JSON.stringify({ __type: "InvalidRequestException", message: `not modelled: ${operation}` }) };
    try {
      return { body: awsJson(await reply) };
    } catch (error) {
      return { status: 400, body: JSON.stringify({ __type: (error as Error).name, message: (error as Error).message }) };
    }
  });
  const eventBridge = answerWith((_operation, input) => ({ body: JSON.stringify({ FailedEntryCount: 0, Entries: (input.Entries as unknown[]).map((_, i) => ({ EventId: `e-${i}` })) }) }));

  const ledger = new DynamoLedger({ client: calls.count("dynamodb", dynamo.newClient()), tableName });
  const service = refreshService({
    config,
    adapters: {
      vault: new SecretsManagerVault(calls.count("secretsmanager", new SecretsManagerClient({ region: "eu-west-1", credentials: CREDENTIALS, requestHandler: secretsManager }))),
      ledger,
      bus: new EventBridgeBus({ busName: "pullkeeper", client: calls.count("events", new EventBridgeClient({ region: "eu-west-1", credentials: CREDENTIALS, requestHandler: eventBridge })) }),
      fingerprints: new HmacFingerprinter(randomBytes(32)),
      clock: systemClock,
      // Registry verification is HTTP to the registry, not an AWS API call: its own tests cover it.
      verifier: { verify: async () => ({ status: "ok", detail: "HTTP 200 (stand-in)", checkedAt: new Date() }) },
    },
    tokens: new EcrTokenSource({
      ecr: (region, credentials) => calls.count("ecr", new ECRClient({ region, credentials: credentials ?? CREDENTIALS, requestHandler: ecr })),
      sts: (region) => calls.count("sts", new STSClient({ region, credentials: CREDENTIALS, requestHandler: sts })),
    }),
  });

  return {
    registries,
    async run(options = {}) {
      calls.reset();
      const report = await service.run(config.registries, options.force === undefined ? {} : { force: options.force });
      return { report, calls };
    },
    stop: () => dynamo.stop(),
  };
}
