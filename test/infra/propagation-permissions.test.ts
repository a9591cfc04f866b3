import { describe, expect, it } from "vitest";
import { parseConfig } from "../../packages/core/src/config/config.js";
import type { PermissionStatement } from "../../stacks/config.js";
import { type PropagationPermissionContext, propagationPermissions } from "../../stacks/propagation-permissions.js";
import { expectLeastPrivilege } from "./iam-invariants";

const ctx: PropagationPermissionContext = {
  partition: "aws",
  region: "eu-west-1",
  account: "123456789012",
  tableArn: "arn:aws:dynamodb:eu-west-1:123456789012:table/pullkeeper-prod-LedgerTable-abcdefgh",
  busArn: "arn:aws:events:eu-west-1:123456789012:event-bus/pullkeeper-prod-EventsBus-abcdefgh",
  fingerprintKeySecretArn: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:pullkeeper/prod/fingerprint-key-Zx9Yw8",
  deliveryQueueArn: "arn:aws:sqs:eu-west-1:123456789012:pullkeeper-prod-DeliveriesQueue-abcdefgh",
  failuresQueueArn: "arn:aws:sqs:eu-west-1:123456789012:pullkeeper-prod-PropagationFailuresQueue-abcdefgh",
};

// The statements every config gets, by function.
const fingerprint = { actions: ["secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue"], resources: [ctx.fingerprintKeySecretArn] };
const tracing = { actions: ["xray:PutTraceSegments", "xray:PutTelemetryRecords"], resources: ["*"] };
const publish = { actions: ["events:PutEvents"], resources: [ctx.busArn] };
const plannerLedger = { actions: ["dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:Query"], resources: [ctx.tableArn] };
const enqueue = { actions: ["sqs:SendMessage"], resources: [ctx.deliveryQueueArn] };
const onFailure = { actions: ["sqs:SendMessage"], resources: [ctx.failuresQueueArn] };
const deliverLedger = { actions: ["dynamodb:GetItem", "dynamodb:UpdateItem"], resources: [ctx.tableArn] };
const consume = { actions: ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility", "sqs:SendMessage"], resources: [ctx.deliveryQueueArn] };
const simulate = { actions: ["iam:SimulatePrincipalPolicy"], resources: ["arn:aws:iam::123456789012:role/*"] };

const planner = (secrets: string[]) => [
  ...(secrets.length > 0 ? [{ actions: ["secretsmanager:GetSecretValue"], resources: secrets }] : []),
  fingerprint,
  plannerLedger,
  enqueue,
  publish,
  onFailure,
  tracing,
];
const readSecrets = (secrets: string[]) => ({ actions: ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"], resources: secrets });

const HUB_BY_NAME = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:pullkeeper/dockerhub-??????";
const GHCR_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:pullkeeper/ghcr-Gh7Ab2";

const registries = `
registries:
  - id: hub
    host: registry-1.docker.io
    kind: dockerhub
    source: { type: managed-secret }
    secret: pullkeeper/dockerhub
  - id: ghcr
    host: ghcr.io
    kind: ghcr
    source: { type: managed-secret }
    secret: "${GHCR_ARN}"
  - id: prod-ecr
    host: 123456789012.dkr.ecr.eu-west-1.amazonaws.com
    kind: ecr
    source: { type: ecr-token, account: "123456789012", region: eu-west-1 }
    secret: pullkeeper/prod-ecr
`;
const config = (consumers: string) => parseConfig(`${registries}consumers:${consumers}\n`, "test.yaml");

function expectAll(statements: PermissionStatement[][]) {
  for (const s of statements) expectLeastPrivilege(s);
}

describe("propagationPermissions", () => {
  it("without consumers: no registry secret, no consumer API, only the ledger, queues, bus, key and tracing", () => {
    const p = propagationPermissions(config(" []"), ctx);
    expect(p.onSecretChange).toEqual(planner([]));
    expect(p.reconcile).toEqual(planner([]));
    expect(p.deliver).toEqual([fingerprint, deliverLedger, consume, publish, tracing]);
    expect(JSON.stringify(p)).not.toMatch(/codebuild|ecs:|iam:|pullkeeper\/(dockerhub|ghcr|prod-ecr)/);
    expectAll([p.onSecretChange, p.reconcile, p.deliver]);
  });

  it("a codebuild-project consumer by name: read the project in the secret's region, check its role, never update it", () => {
    const p = propagationPermissions(config(`\n  - { id: hub-builds, registry: hub, target: { kind: codebuild-project, project: build-images } }`), ctx);
    // Only the subscribed registry's secret, by name (`-??????` is the random suffix).
    expect(p.onSecretChange).toEqual(planner([HUB_BY_NAME]));
    expect(p.reconcile).toEqual(p.onSecretChange);
    expect(p.deliver).toEqual([
      readSecrets([HUB_BY_NAME]),
      fingerprint,
      deliverLedger,
      consume,
      publish,
      // A name is a project of the deploy account, in the registry secret's region (here: a name, so the deploy region).
      { actions: ["codebuild:BatchGetProjects"], resources: ["arn:aws:codebuild:eu-west-1:123456789012:project/build-images"] },
      simulate,
      tracing,
    ]);
    expectAll([p.onSecretChange, p.deliver]);
  });

  it("a codebuild-project consumer by ARN with fixWiring: read and update exactly that project", () => {
    const project = "arn:aws:codebuild:us-east-2:123456789012:project/release";
    const p = propagationPermissions(config(`\n  - { id: ghcr-release, registry: ghcr, target: { kind: codebuild-project, project: "${project}", fixWiring: true } }`), ctx);
    expect(p.onSecretChange).toEqual(planner([GHCR_ARN]));
    expect(p.deliver).toEqual([
      readSecrets([GHCR_ARN]),
      fingerprint,
      deliverLedger,
      consume,
      publish,
      { actions: ["codebuild:BatchGetProjects"], resources: [project] },
      { actions: ["codebuild:UpdateProject"], resources: [project] },
      simulate,
      tracing,
    ]);
    expectAll([p.onSecretChange, p.deliver]);
  });

  it("an ecs-task-definition consumer with rollServices: describe any task definition, update only the listed services", () => {
    const p = propagationPermissions(
      config(`
  - id: hub-web
    registry: hub
    target:
      kind: ecs-task-definition
      family: web
      rollServices:
        - { cluster: prod, service: web }
        - { cluster: "arn:aws:ecs:eu-central-1:210987654321:cluster/batch", service: worker }
        - { cluster: prod, service: "arn:aws:ecs:eu-west-1:123456789012:service/prod/api" }`),
      ctx,
    );
    expect(p.deliver).toEqual([
      readSecrets([HUB_BY_NAME]),
      fingerprint,
      deliverLedger,
      consume,
      publish,
      // No resource-level permission exists for DescribeTaskDefinition.
      { actions: ["ecs:DescribeTaskDefinition"], resources: ["*"] },
      {
        actions: ["ecs:UpdateService"],
        resources: [
          // A cluster name: the consumer's region (here the deploy region) and the deploy account.
          "arn:aws:ecs:eu-west-1:123456789012:service/prod/web",
          // A cluster ARN says where the service is.
          "arn:aws:ecs:eu-central-1:210987654321:service/batch/worker",
          // A service ARN is used as given.
          "arn:aws:ecs:eu-west-1:123456789012:service/prod/api",
        ],
      },
      simulate,
      tracing,
    ]);
    expectAll([p.deliver]);
  });

  it("lets deliver read the tokens and signing keys that targets outside AWS name, and nothing else of theirs", () => {
    const p = propagationPermissions(
      config(`
  - { id: gh, registry: hub, target: { kind: github-actions-secret, scope: repository, repository: acme/app, tokenSecret: pullkeeper/github-token } }
  - { id: hook, registry: hub, target: { kind: webhook, url: "https://hooks.example.com/x", signingSecret: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:hook-key-Ab12Cd" } }`),
      ctx,
    );
    const reads = p.deliver.filter((s) => s.actions.length === 1 && s.actions[0] === "secretsmanager:GetSecretValue");
    expect(reads).toEqual([
      { actions: ["secretsmanager:GetSecretValue"], resources: [`arn:aws:secretsmanager:${ctx.region}:123456789012:secret:pullkeeper/github-token-??????`, "arn:aws:secretsmanager:eu-west-1:123456789012:secret:hook-key-Ab12Cd"] },
    ]);
    expect(p.onSecretChange.flatMap((s) => s.resources)).not.toContain("arn:aws:secretsmanager:eu-west-1:123456789012:secret:hook-key-Ab12Cd");
  });

  it("an ecs-task-definition consumer without rollServices never updates a service", () => {
    const p = propagationPermissions(config(`\n  - { id: hub-api, registry: hub, target: { kind: ecs-task-definition, family: api } }`), ctx);
    const actions = p.deliver.flatMap((s) => s.actions);
    expect(actions).toContain("ecs:DescribeTaskDefinition");
    expect(actions).not.toContain("ecs:UpdateService");
    expect(actions).not.toContain("codebuild:BatchGetProjects");
    expect(actions).toContain("iam:SimulatePrincipalPolicy");
  });

  it("resolves each project's region: the consumer's region, else its ARN's, else the registry secret ARN's, else the deploy region; each resource once", () => {
    const p = propagationPermissions(
      config(`
  - { id: a, registry: ghcr, target: { kind: codebuild-project, project: ghcr-images } }
  - { id: b, registry: ghcr, target: { kind: codebuild-project, project: ghcr-images, region: ap-south-1 } }
  - { id: c, registry: hub, target: { kind: codebuild-project, project: hub-images } }
  - { id: d, registry: hub, target: { kind: codebuild-project, project: hub-images } }
  - { id: e, registry: hub, target: { kind: codebuild-project, project: hub-images, fixWiring: true } }
  - { id: f, registry: ghcr, target: { kind: ecs-task-definition, family: web, rollServices: [{ cluster: prod, service: web }] } }`),
      ctx,
    );
    const byAction = (action: string) => p.deliver.filter((s) => s.actions.includes(action)).map((s) => s.resources);
    expect(byAction("codebuild:BatchGetProjects")).toEqual([
      [
        "arn:aws:codebuild:us-east-1:123456789012:project/ghcr-images",
        "arn:aws:codebuild:ap-south-1:123456789012:project/ghcr-images",
        "arn:aws:codebuild:eu-west-1:123456789012:project/hub-images",
      ],
    ]);
    expect(byAction("codebuild:UpdateProject")).toEqual([["arn:aws:codebuild:eu-west-1:123456789012:project/hub-images"]]);
    // The ECS consumer's registry secret is in us-east-1: so is its service.
    expect(byAction("ecs:UpdateService")).toEqual([["arn:aws:ecs:us-east-1:123456789012:service/prod/web"]]);
    // Two registries subscribed: both secrets, each once; prod-ecr has no consumer.
    expect(byAction("secretsmanager:GetSecretValue")).toEqual([[HUB_BY_NAME, GHCR_ARN], [ctx.fingerprintKeySecretArn]]);
    expectAll([p.deliver, p.onSecretChange]);
  });

  it("builds ARNs in the deploy partition and account", () => {
    const gov = { ...ctx, partition: "aws-us-gov", region: "us-gov-west-1", account: "111122223333" };
    const p = propagationPermissions(config(`\n  - { id: c, registry: hub, target: { kind: codebuild-project, project: hub-images } }`), gov);
    expect(p.deliver).toContainEqual({ actions: ["codebuild:BatchGetProjects"], resources: ["arn:aws-us-gov:codebuild:us-gov-west-1:111122223333:project/hub-images"] });
    expect(p.deliver).toContainEqual({ actions: ["iam:SimulatePrincipalPolicy"], resources: ["arn:aws-us-gov:iam::111122223333:role/*"] });
    expect(p.deliver[0]?.resources).toEqual(["arn:aws-us-gov:secretsmanager:us-gov-west-1:111122223333:secret:pullkeeper/dockerhub-??????"]);
  });

  it("invariants: no wildcard action; `*` only for tracing and DescribeTaskDefinition; the role wildcard only for SimulatePrincipalPolicy; nothing but deliver touches consumers", () => {
    const p = propagationPermissions(
      config(`
  - { id: a, registry: hub, target: { kind: codebuild-project, project: builds, fixWiring: true } }
  - { id: b, registry: hub, target: { kind: ecs-task-definition, family: web, rollServices: [{ cluster: c, service: s }] } }`),
      ctx,
    );
    for (const statements of [p.onSecretChange, p.reconcile, p.deliver]) {
      expectLeastPrivilege(statements);
      for (const s of statements) {
        for (const action of s.actions) expect(action).not.toMatch(/\*/);
        const wild = s.resources.filter((r) => r.includes("*"));
        if (wild.length === 0) continue;
        if (wild.includes("*")) expect([["xray:PutTraceSegments", "xray:PutTelemetryRecords"], ["ecs:DescribeTaskDefinition"]]).toContainEqual(s.actions);
        else expect(s).toEqual(simulate);
        // Never a wildcard on the services that hold data or credentials.
        expect(s.actions.filter((a) => /^(secretsmanager|dynamodb|sqs|events):/.test(a))).toEqual([]);
      }
    }
    const consumerApis = (statements: PermissionStatement[]) => statements.flatMap((s) => s.actions).filter((a) => /^(codebuild|ecs|iam):/.test(a));
    expect(consumerApis(p.onSecretChange)).toEqual([]);
    expect(consumerApis(p.reconcile)).toEqual([]);
    // Planners never consume the queue; the worker sends only to its own queue (a retry's next attempt).
    expect(p.onSecretChange.flatMap((s) => s.actions)).not.toContain("sqs:ReceiveMessage");
    expect(p.deliver.filter((s) => s.actions.includes("sqs:SendMessage")).flatMap((s) => s.resources)).toEqual([ctx.deliveryQueueArn]);
  });

  it("a target that does not parse fails with its path (the deploy validates consumers before this)", () => {
    expect(() => propagationPermissions(config(`\n  - { id: a, registry: hub, target: { kind: codebuild-project } }`), ctx)).toThrow(/consumers\[0\]\.target\.project: /);
  });
});
