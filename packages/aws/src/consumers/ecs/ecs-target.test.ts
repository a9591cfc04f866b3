import {
  ClientException,
  type ContainerDefinition,
  DescribeTaskDefinitionCommand,
  type DescribeTaskDefinitionCommandOutput,
  ECSClient,
  ServiceNotFoundException,
  type TaskDefinition,
  UpdateServiceCommand,
  type UpdateServiceCommandInput,
} from "@aws-sdk/client-ecs";
import { IAMClient, NoSuchEntityException, SimulatePrincipalPolicyCommand } from "@aws-sdk/client-iam";
import { DescribeSecretCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { type Consumer, DeliveryError, type Registry } from "@pullkeeper/core";
import type { MetadataBearer } from "@aws-sdk/types";
import { type AwsStub, mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ACCOUNT, awsError, type Decision, deliveryContext, describeSecretOutput, OTHER_ACCOUNT, PASSWORD, secretArn, simulation, VERSION_ID, visible } from "../shared/testing.js";
import type { WiringError } from "../shared/wiring.js";
import { EcsTaskDefinitionTarget, ROLL_FAILED } from "./ecs-target.js";
import { ecsTaskDefinitionTargetSchema } from "./schema.js";

// Names as in test/fixtures/shared/aws-container-registries/ecs-describetasks*.json (cluster MyCluster,
// service fargate-service, family sample-fargate), in the secret's region.
const REGION = "us-west-2";
const SECRET = secretArn(REGION);
const EXECUTION_ROLE = `arn:aws:iam::${ACCOUNT}:role/ecsTaskExecutionRole`;
const KEY_ARN = `arn:aws:kms:${REGION}:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;

function appContainer(overrides: Partial<ContainerDefinition> = {}): ContainerDefinition {
  return {
    name: "fargate-app",
    image: "acme/web:1.4.2",
    repositoryCredentials: { credentialsParameter: SECRET },
    cpu: 0,
    portMappings: [{ containerPort: 80, hostPort: 80, protocol: "tcp" }],
    essential: true,
    entryPoint: ["sh", "-c"],
    command: ["/bin/sh -c \"echo '<html>ok</html>' > /usr/local/apache2/htdocs/index.html && httpd-foreground\""],
    // A value someone put in plain environment: it must never be echoed.
    environment: [
      { name: "STAGE", value: "prod" },
      { name: "LEGACY_TOKEN", value: PASSWORD },
    ],
    mountPoints: [],
    volumesFrom: [],
    logConfiguration: { logDriver: "awslogs", options: { "awslogs-group": "/ecs/sample-fargate", "awslogs-region": REGION, "awslogs-stream-prefix": "ecs" } },
    systemControls: [],
    ...overrides,
  };
}

/** A FireLens sidecar from ECR Public: pulled through IAM, never with the registry's secret. */
const logRouter: ContainerDefinition = {
  name: "log_router",
  image: "public.ecr.aws/aws-observability/aws-for-fluent-bit:stable",
  cpu: 0,
  essential: true,
  firelensConfiguration: { type: "fluentbit", options: { "enable-ecs-log-metadata": "true" } },
  memoryReservation: 51,
  environment: [],
  mountPoints: [],
  volumesFrom: [],
  user: "0",
};

function taskDefinition(overrides: Partial<TaskDefinition> = {}): DescribeTaskDefinitionCommandOutput {
  return {
    $metadata: { httpStatusCode: 200, requestId: "7d3b8f5e-2c4a-4d7e-9f1b-6a5c3e2d1f0a", attempts: 1, totalRetryDelay: 0 },
    taskDefinition: {
      taskDefinitionArn: `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/sample-fargate:2`,
      containerDefinitions: [appContainer(), logRouter],
      family: "sample-fargate",
      taskRoleArn: `arn:aws:iam::${ACCOUNT}:role/sample-fargate-task`,
      executionRoleArn: EXECUTION_ROLE,
      networkMode: "awsvpc",
      revision: 2,
      volumes: [],
      status: "ACTIVE",
      requiresAttributes: [
        { name: "com.amazonaws.ecs.capability.private-registry-authentication.secretsmanager" },
        { name: "ecs.capability.execution-role-awslogs" },
        { name: "com.amazonaws.ecs.capability.logging-driver.awslogs" },
        { name: "ecs.capability.firelens.fluentbit" },
        { name: "ecs.capability.task-eni" },
      ],
      placementConstraints: [],
      compatibilities: ["EC2", "FARGATE"],
      requiresCompatibilities: ["FARGATE"],
      cpu: "256",
      memory: "512",
      registeredAt: new Date("2026-01-20T10:01:02.345Z"),
      registeredBy: `arn:aws:sts::${ACCOUNT}:assumed-role/deploy/ci`,
      ...overrides,
    },
    tags: [],
  };
}

function updatedService(input: UpdateServiceCommandInput, runs = `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/sample-fargate:2`) {
  return {
    service: {
      serviceArn: `arn:aws:ecs:${REGION}:${ACCOUNT}:service/${input.cluster}/${input.service}`,
      serviceName: input.service,
      clusterArn: `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/${input.cluster}`,
      status: "ACTIVE",
      desiredCount: 2,
      runningCount: 2,
      pendingCount: 0,
      launchType: "FARGATE",
      platformVersion: "LATEST",
      taskDefinition: runs,
      deployments: [
        { id: "ecs-svc/9223370457263867915", status: "PRIMARY", taskDefinition: runs, desiredCount: 2, pendingCount: 0, runningCount: 0, rolloutState: "IN_PROGRESS" },
        { id: "ecs-svc/1234567890123456789", status: "ACTIVE", taskDefinition: runs, desiredCount: 2, pendingCount: 0, runningCount: 2, rolloutState: "COMPLETED" },
      ],
    },
  };
}

function consumer(target: Record<string, unknown> = {}): Consumer {
  return { id: "sample-fargate", registryId: "dockerhub", target: { kind: "ecs-task-definition", family: "sample-fargate", ...target } };
}

let ecs: ECSClient;
let iam: IAMClient;
let sm: SecretsManagerClient;
let ecsMock: AwsStub<object, MetadataBearer, unknown>;
let iamMock: AwsStub<object, MetadataBearer, unknown>;
let smMock: AwsStub<object, MetadataBearer, unknown>;
let regions: string[];

function target(): EcsTaskDefinitionTarget {
  return new EcsTaskDefinitionTarget({ ecs: (region) => (regions.push(region), ecs), iam: () => iam, secretsManager: () => sm });
}

function decide(decisions: Partial<Record<string, Decision>> = {}): void {
  iamMock.on(SimulatePrincipalPolicyCommand).callsFake(simulation((action) => decisions[action] ?? "allowed"));
}

function context(c: Consumer = consumer(), options: { registry?: Registry; secretArn?: string } = {}) {
  return deliveryContext(c, { secretArn: SECRET, ...options });
}

async function failure(promise: Promise<unknown>): Promise<WiringError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DeliveryError);
  return error as WiringError;
}

beforeEach(() => {
  ecs = new ECSClient({ region: REGION, maxAttempts: 1 });
  iam = new IAMClient({ region: REGION, maxAttempts: 1 });
  sm = new SecretsManagerClient({ region: REGION, maxAttempts: 1 });
  ecsMock = mockClient(ecs);
  iamMock = mockClient(iam);
  smMock = mockClient(sm);
  regions = [];
  smMock.on(DescribeSecretCommand).resolves(describeSecretOutput(SECRET));
  ecsMock.on(DescribeTaskDefinitionCommand).resolves(taskDefinition());
  ecsMock.on(UpdateServiceCommand).callsFake((input: UpdateServiceCommandInput) => updatedService(input));
  decide();
});

afterEach(() => {
  vi.unstubAllEnvs();
});

describe("EcsTaskDefinitionTarget: wired right", () => {
  it("verifies the latest ACTIVE revision: only containers on the registry's host, and the execution role", async () => {
    const outcome = await target().deliver(context());
    expect(outcome.status).toBe("verified");
    expect(outcome.detail).toContain(`ECS task definition sample-fargate:2 (${REGION}, account ${ACCOUNT})`);
    expect(outcome.detail).toContain(`containers "fargate-app" (acme/web:1.4.2) take their repositoryCredentials from ${SECRET}`);
    expect(outcome.detail).not.toContain("log_router");
    expect(outcome.detail).toContain(`execution role ${EXECUTION_ROLE} may secretsmanager:GetSecretValue on the secret`);
    expect(outcome.detail).toContain(`AWSCURRENT version ${VERSION_ID}`);
    expect(outcome.detail).toContain("running tasks keep the value they started with until they are replaced");

    expect(ecsMock.commandCalls(DescribeTaskDefinitionCommand)[0]?.args[0].input).toEqual({ taskDefinition: "sample-fargate" });
    const sims = iamMock.commandCalls(SimulatePrincipalPolicyCommand).map((c) => c.args[0].input);
    expect(sims).toEqual([expect.objectContaining({ PolicySourceArn: EXECUTION_ROLE, ActionNames: ["secretsmanager:GetSecretValue"], ResourceArns: [SECRET] })]);
    expect(ecsMock.commandCalls(UpdateServiceCommand)).toHaveLength(0);
    expect(regions).toEqual([REGION]);
  });

  it("checks kms:Decrypt for the execution role when a customer key encrypts the secret", async () => {
    smMock.on(DescribeSecretCommand).resolves(describeSecretOutput(SECRET, { kmsKeyId: KEY_ARN }));
    const outcome = await target().deliver(context());
    expect(outcome.detail).toContain(`it may kms:Decrypt with the secret's customer-managed key ${KEY_ARN}`);
    expect(iamMock.commandCalls(SimulatePrincipalPolicyCommand).map((c) => [c.args[0].input.ActionNames?.[0], c.args[0].input.ResourceArns?.[0]])).toEqual([
      ["secretsmanager:GetSecretValue", SECRET],
      ["kms:Decrypt", KEY_ARN],
    ]);
  });

  it("accepts a bare name in the secret's own region and account, and a port-qualified private registry", async () => {
    const registry: Registry = { id: "harbor", host: "harbor.acme.internal:8443", kind: "generic", source: { type: "managed-secret" }, secret: SECRET, verify: {} };
    ecsMock.on(DescribeTaskDefinitionCommand).resolves(
      taskDefinition({
        containerDefinitions: [
          appContainer({ image: "harbor.acme.internal:8443/web/app@sha256:0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0", repositoryCredentials: { credentialsParameter: "pullkeeper/dockerhub" } }),
          // Same host name, other port: another registry, not checked.
          appContainer({ name: "other", image: "harbor.acme.internal/web/other:1", repositoryCredentials: { credentialsParameter: "something-else" } }),
        ],
      }),
    );
    const outcome = await target().deliver(context(consumer(), { registry }));
    expect(outcome.detail).toContain('"fargate-app"');
    expect(outcome.detail).not.toContain('"other"');
  });
});

describe("EcsTaskDefinitionTarget: not found and AWS errors", () => {
  it("reports a family with no ACTIVE revision as not_found, not retryable", async () => {
    ecsMock.on(DescribeTaskDefinitionCommand).rejects(new ClientException({ message: "Unable to describe task definition.", $metadata: { httpStatusCode: 400 } }));
    const error = await failure(target().deliver(context()));
    expect(error).toMatchObject({ code: "not_found", retryable: false });
    expect(error.message).toBe(`ECS task definition family sample-fargate has no ACTIVE revision in ${REGION}`);
  });

  it("classifies throttling as throttled, retryable, with no Retry-After", async () => {
    ecsMock.on(DescribeTaskDefinitionCommand).rejects(awsError("ThrottlingException", "Rate exceeded"));
    const error = await failure(target().deliver(context()));
    expect(error).toMatchObject({ code: "throttled", retryable: true, retryAfterMs: undefined });
  });

  it("classifies AccessDenied on pullkeeper's own call as access_denied", async () => {
    ecsMock.on(DescribeTaskDefinitionCommand).rejects(awsError("AccessDeniedException", "not authorized to perform: ecs:DescribeTaskDefinition"));
    await expect(target().deliver(context())).rejects.toMatchObject({ code: "access_denied", retryable: false });
  });

  it("classifies an ECS ServerException as unavailable, retryable", async () => {
    ecsMock.on(DescribeTaskDefinitionCommand).rejects(awsError("ServerException", "Service Unavailable", 500));
    await expect(target().deliver(context())).rejects.toMatchObject({ code: "unavailable", retryable: true });
  });
});

describe("EcsTaskDefinitionTarget: every wiring fault", () => {
  it("wiring_secret_reference: a container on the host without repositoryCredentials", async () => {
    ecsMock.on(DescribeTaskDefinitionCommand).resolves(taskDefinition({ containerDefinitions: [appContainer({ repositoryCredentials: undefined }), logRouter] }));
    const error = await failure(target().deliver(context()));
    expect(error).toMatchObject({ code: "wiring_secret_reference", retryable: false });
    expect(error.message).toContain(`container "fargate-app" (acme/web:1.4.2) repositoryCredentials.credentialsParameter references no secret; expected the registry's secret ${SECRET}`);
  });

  it("wiring_secret_reference: one container of two references another secret", async () => {
    const other = secretArn(REGION, ACCOUNT, "team-b/dockerhub", "QwErTy");
    ecsMock.on(DescribeTaskDefinitionCommand).resolves(
      taskDefinition({ containerDefinitions: [appContainer(), appContainer({ name: "worker", image: "docker.io/acme/worker:3", repositoryCredentials: { credentialsParameter: other } })] }),
    );
    const error = await failure(target().deliver(context()));
    expect(error.faults.map((f) => f.code)).toEqual(["wiring_secret_reference"]);
    expect(error.message).toContain(`container "worker" (docker.io/acme/worker:3) repositoryCredentials.credentialsParameter references ${other}`);
    expect(error.message).not.toContain('"fargate-app"');
  });

  it("wiring_secret_reference: a secret in another region referenced by name", async () => {
    const euSecret = secretArn("eu-west-1");
    smMock.on(DescribeSecretCommand).resolves(describeSecretOutput(euSecret));
    ecsMock.on(DescribeTaskDefinitionCommand).resolves(taskDefinition({ containerDefinitions: [appContainer({ repositoryCredentials: { credentialsParameter: "pullkeeper/dockerhub" } })] }));
    const error = await failure(target().deliver(context(consumer({ region: REGION }), { secretArn: euSecret })));
    expect(error).toMatchObject({ code: "wiring_secret_reference", retryable: false });
    expect(error.message).toContain(`which resolves in ${REGION} / account ${ACCOUNT}, but the secret is in eu-west-1 / account ${ACCOUNT}`);
    expect(error.message).toContain(`full ARN ${euSecret}`);
    expect(regions).toEqual([REGION]);
  });

  it("wiring_no_container: no container pulls from the registry's host", async () => {
    ecsMock.on(DescribeTaskDefinitionCommand).resolves(taskDefinition({ containerDefinitions: [appContainer({ image: "ghcr.io/acme/web:1.4.2" }), logRouter] }));
    const error = await failure(target().deliver(context()));
    expect(error).toMatchObject({ code: "wiring_no_container", retryable: false });
    expect(error.message).toContain("no container pulls from registry dockerhub's host docker.io (containers: fargate-app: ghcr.io/acme/web:1.4.2, log_router: public.ecr.aws/");
    expect(error.message).toContain("ECR images are pulled through IAM");
  });

  it("wiring_ecr_image: the registry is ECR — refused before any AWS call", async () => {
    const ecr: Registry = {
      id: "prod-ecr",
      host: `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com`,
      kind: "ecr",
      source: { type: "ecr-token", account: ACCOUNT, region: REGION },
      secret: "pullkeeper/prod-ecr",
      verify: {},
    };
    const error = await failure(target().deliver(context(consumer(), { registry: ecr })));
    expect(error).toMatchObject({ code: "wiring_ecr_image", retryable: false });
    expect(error.message).toContain("ECS pulls ECR images through IAM, with the task execution role");
    expect(error.message).toContain("never with repositoryCredentials");
    expect(ecsMock.calls()).toHaveLength(0);
  });

  it("wiring_no_execution_role: the task definition has none", async () => {
    ecsMock.on(DescribeTaskDefinitionCommand).resolves(taskDefinition({ executionRoleArn: undefined }));
    const error = await failure(target().deliver(context()));
    expect(error).toMatchObject({ code: "wiring_no_execution_role", retryable: false });
    expect(error.message).toContain("has no executionRoleArn");
    expect(iamMock.calls()).toHaveLength(0);
  });

  it("wiring_no_execution_role: the execution role does not exist", async () => {
    iamMock.on(SimulatePrincipalPolicyCommand).rejects(new NoSuchEntityException({ message: "The role with name ecsTaskExecutionRole cannot be found.", $metadata: { httpStatusCode: 404 } }));
    const error = await failure(target().deliver(context()));
    expect(error.code).toBe("wiring_no_execution_role");
    expect(error.message).toContain(`execution role ${EXECUTION_ROLE} does not exist`);
  });

  it("wiring_role_cannot_read: the execution role may not GetSecretValue", async () => {
    decide({ "secretsmanager:GetSecretValue": "implicitDeny" });
    const error = await failure(target().deliver(context()));
    expect(error).toMatchObject({ code: "wiring_role_cannot_read", retryable: false });
    expect(error.message).toContain(`execution role ${EXECUTION_ROLE} may not secretsmanager:GetSecretValue on ${SECRET}`);
  });

  it("wiring_role_cannot_decrypt: the execution role may not kms:Decrypt with the customer key", async () => {
    smMock.on(DescribeSecretCommand).resolves(describeSecretOutput(SECRET, { kmsKeyId: KEY_ARN }));
    decide({ "kms:Decrypt": "implicitDeny" });
    const error = await failure(target().deliver(context()));
    expect(error).toMatchObject({ code: "wiring_role_cannot_decrypt", retryable: false });
    expect(error.message).toContain(`execution role ${EXECUTION_ROLE} may not kms:Decrypt on ${KEY_ARN}`);
  });

  it("a cross-account secret by full ARN with a customer key: checked, with the resource-policy caveat in the detail", async () => {
    const shared = secretArn(REGION, OTHER_ACCOUNT);
    const sharedKey = `arn:aws:kms:${REGION}:${OTHER_ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
    smMock.on(DescribeSecretCommand).resolves(describeSecretOutput(shared, { kmsKeyId: sharedKey }));
    ecsMock.on(DescribeTaskDefinitionCommand).resolves(taskDefinition({ containerDefinitions: [appContainer({ repositoryCredentials: { credentialsParameter: shared } })] }));
    const outcome = await target().deliver(context(consumer(), { secretArn: shared }));
    expect(outcome.detail).toContain(`the secret is in account ${OTHER_ACCOUNT}: its resource policy and its key policy must also allow the role`);
  });
});

describe("EcsTaskDefinitionTarget: rollServices", () => {
  const services = [
    { cluster: "MyCluster", service: "fargate-service" },
    { cluster: "MyCluster", service: "fargate-worker" },
  ];

  it("forces a new deployment of each listed service and says so", async () => {
    const outcome = await target().deliver(context(consumer({ rollServices: services })));
    expect(ecsMock.commandCalls(UpdateServiceCommand).map((c) => c.args[0].input)).toEqual([
      { cluster: "MyCluster", service: "fargate-service", forceNewDeployment: true },
      { cluster: "MyCluster", service: "fargate-worker", forceNewDeployment: true },
    ]);
    expect(outcome.status).toBe("verified");
    expect(outcome.detail).toContain("forced a new deployment of MyCluster/fargate-service (runs sample-fargate:2), MyCluster/fargate-worker (runs sample-fargate:2)");
    expect(outcome.detail).toContain("pick up the new value");
  });

  it("notes a service that runs another revision than the one checked", async () => {
    ecsMock.on(UpdateServiceCommand).callsFake((input: UpdateServiceCommandInput) => updatedService(input, `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/sample-fargate:1`));
    const outcome = await target().deliver(context(consumer({ rollServices: [services[0]] })));
    expect(outcome.detail).toContain("note: MyCluster/fargate-service runs sample-fargate:1, not the checked sample-fargate:2");
  });

  it("tries every service and reports per-service failures in the error", async () => {
    ecsMock
      .on(UpdateServiceCommand)
      .callsFake((input: UpdateServiceCommandInput) => updatedService(input))
      .on(UpdateServiceCommand, { service: "fargate-service" })
      .rejects(new ServiceNotFoundException({ message: "Service not found.", $metadata: { httpStatusCode: 400 } }));
    const error = await failure(target().deliver(context(consumer({ rollServices: services }))));
    expect(ecsMock.commandCalls(UpdateServiceCommand)).toHaveLength(2);
    expect(error).toMatchObject({ code: ROLL_FAILED, retryable: false });
    expect(error.message).toContain("forcing a new deployment failed for 1 of 2 service(s): MyCluster/fargate-service: [not_found] ServiceNotFoundException: Service not found.");
    expect(error.message).toContain("rolled: MyCluster/fargate-worker");
  });

  it("a throttled roll is retryable", async () => {
    ecsMock.on(UpdateServiceCommand).rejects(awsError("ThrottlingException", "Rate exceeded"));
    const error = await failure(target().deliver(context(consumer({ rollServices: services }))));
    expect(error).toMatchObject({ code: ROLL_FAILED, retryable: true });
    expect(error.message).toContain("[throttled]");
  });

  it("never rolls a broken wiring", async () => {
    decide({ "secretsmanager:GetSecretValue": "implicitDeny" });
    const error = await failure(target().deliver(context(consumer({ rollServices: services }))));
    expect(error.code).toBe("wiring_role_cannot_read");
    expect(error.message).toContain("No service was rolled");
    expect(ecsMock.commandCalls(UpdateServiceCommand)).toHaveLength(0);
  });
});

describe("EcsTaskDefinitionTarget: the credential value never shows", () => {
  it("appears in no outcome, error message or fault, whatever happens", async () => {
    const seen: string[] = [];
    const t = target();
    seen.push(visible(await t.deliver(context(consumer({ rollServices: [{ cluster: "MyCluster", service: "fargate-service" }] })))));
    ecsMock.on(DescribeTaskDefinitionCommand).resolves(taskDefinition({ containerDefinitions: [appContainer({ repositoryCredentials: undefined })] }));
    seen.push(visible(await t.deliver(context()).catch((e: unknown) => e)));
    ecsMock.on(DescribeTaskDefinitionCommand).resolves(taskDefinition({ containerDefinitions: [appContainer({ image: "quay.io/acme/web:1" })] }));
    seen.push(visible(await t.deliver(context()).catch((e: unknown) => e)));
    ecsMock.on(DescribeTaskDefinitionCommand).rejects(awsError("ThrottlingException", "Rate exceeded"));
    seen.push(visible(await t.deliver(context()).catch((e: unknown) => e)));
    expect(seen).toHaveLength(4);
    for (const text of seen) expect(text).not.toContain(PASSWORD);
  });
});

describe("EcsTaskDefinitionTarget: schema and provider", () => {
  it("validates the target", () => {
    expect(ecsTaskDefinitionTargetSchema.parse({ kind: "ecs-task-definition", family: "sample-fargate" })).toEqual({ kind: "ecs-task-definition", family: "sample-fargate" });
    expect(ecsTaskDefinitionTargetSchema.safeParse({ kind: "ecs-task-definition", family: "sample-fargate:2" }).success).toBe(false);
    expect(ecsTaskDefinitionTargetSchema.safeParse({ kind: "ecs-task-definition", family: "web", rollServices: [{ cluster: "c" }] }).success).toBe(false);
    const mismatch = ecsTaskDefinitionTargetSchema.safeParse({
      kind: "ecs-task-definition",
      family: "web",
      region: "eu-west-1",
      rollServices: [{ cluster: `arn:aws:ecs:us-east-1:${ACCOUNT}:cluster/MyCluster`, service: "web" }],
    });
    expect(mismatch.error?.issues[0]?.path).toEqual(["rollServices", 0, "cluster"]);
  });

  it("names the rate-limit bucket aws:ecs:<region>", () => {
    vi.stubEnv("AWS_REGION", "ap-southeast-2");
    const t = new EcsTaskDefinitionTarget();
    expect(t.kind).toBe("ecs-task-definition");
    expect(t.provider(consumer({ region: "eu-central-1" }))).toBe("aws:ecs:eu-central-1");
    expect(t.provider(consumer())).toBe("aws:ecs:ap-southeast-2");
  });
});
