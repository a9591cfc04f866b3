/** Every delivery target kind's contract entry, with its fake: the target contract and the faults suite (test/faults) run over this list. */
import { BatchGetProjectsCommand, CodeBuildClient, type Project } from "@aws-sdk/client-codebuild";
import { DescribeTaskDefinitionCommand, ECSClient } from "@aws-sdk/client-ecs";
import { ECRClient, ValidatePullThroughCacheRuleCommand } from "@aws-sdk/client-ecr";
import { IAMClient, SimulatePrincipalPolicyCommand } from "@aws-sdk/client-iam";
import { DescribeSecretCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { type Consumer, credential, type DeliveryTarget } from "@pullkeeper/core";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { mockClient } from "aws-sdk-client-mock";
import { CodeBuildTarget } from "../../packages/aws/src/consumers/codebuild/codebuild-target.js";
import { EcsTaskDefinitionTarget } from "../../packages/aws/src/consumers/ecs/ecs-target.js";
import { EcrPullThroughCacheTarget } from "../../packages/aws/src/consumers/ecr-pull-through-cache/ecr-pull-through-cache-target.js";
import { SecretsManagerCopyTarget } from "../../packages/aws/src/consumers/secrets-manager-copy/secrets-manager-copy-target.js";
import { FakeSecretsManager } from "../../packages/aws/src/consumers/secrets-manager-copy/testing.js";
import { ACCOUNT, awsError, describeSecretOutput, simulation } from "../../packages/aws/src/consumers/shared/testing.js";
import { DockerConfigTarget } from "../../packages/targets/src/docker-config/docker-config-target.js";
import { githubTargets } from "../../packages/targets/src/github/index.js";
import { GitpodSecretTarget } from "../../packages/targets/src/gitpod/gitpod-target.js";
import { KubernetesSecretTarget } from "../../packages/targets/src/kubernetes/kubernetes-target.js";
import { WEBHOOK_DELIVERY_ID_HEADER } from "../../packages/targets/src/webhook/signature.js";
import { WebhookTarget } from "../../packages/targets/src/webhook/webhook-target.js";
import { FakeGitHub } from "../support/fake-github.js";
import { FakeGitpod, GITPOD_TEST_TOKEN } from "../support/fake-gitpod.js";
import { FakeApiServer, kubeconfigYaml } from "../support/fake-kubernetes.js";
import { startServer } from "../support/http.js";
import { CONTRACT_SECRET_ARN, CONTRACT_VERSION, type Fault, faultProxy, type TargetContractEntry } from "./target-contract.js";

/**
 * Short budgets: the timeout clause waits this long for an answer that never comes. 1 s, not less:
 * 300 ms was sometimes too short for an answer that did come, with two test pools on two CPUs.
 */
const TIMEOUT_MS = 1_000;

async function tempDir(): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "pullkeeper-contract-"));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

type GitHubKind = "codespaces-secret" | "github-actions-secret" | "dependabot-secret";

function github(kind: GitHubKind): TargetContractEntry {
  const token = "ghp_CONTRACTtoken0123456789abcdefABCDEF";
  const collection = { "codespaces-secret": "codespaces", "github-actions-secret": "actions", "dependabot-secret": "dependabot" }[kind];
  const passwordName = kind === "codespaces-secret" ? "ACME_CONTAINER_REGISTRY_PASSWORD" : "REGISTRY_PASSWORD";
  return {
    kind,
    carries: "password",
    async start() {
      const fake = await FakeGitHub.start({ token });
      const proxy = await faultProxy(fake.url);
      const all = githubTargets({ readCredential: async () => credential("x-access-token", token), writeSpacingMs: 0, retries: 0, retryBaseMs: 1, requestTimeoutMs: TIMEOUT_MS });
      const target = all.find((t) => t.kind === kind) as DeliveryTarget;
      const extra = kind === "codespaces-secret" ? { prefix: "ACME" } : {};
      const consumer: Consumer = { id: `contract-${kind}`, registryId: "dockerhub", target: { kind, scope: "repository", repository: "octo-org/web", tokenSecret: "pullkeeper/github-token", baseUrl: proxy.url, ...extra } };
      return {
        target,
        consumer,
        held: async () => fake.value(`/repos/octo-org/web/${collection}/secrets`, passwordName),
        fail: (fault: Fault) => proxy.fail(fault),
        close: async () => {
          await proxy.close();
          await fake.close();
        },
      };
    },
  };
}

const gitpod: TargetContractEntry = {
  kind: "gitpod-secret",
  carries: "password",
  async start() {
    const fake = new FakeGitpod();
    const server = await startServer((req, res) => fake.handle(req, res));
    const proxy = await faultProxy(server.url);
    const target = new GitpodSecretTarget({ timeoutMs: TIMEOUT_MS, readCredential: async () => credential("gitpod", GITPOD_TEST_TOKEN) });
    const consumer: Consumer = {
      id: "contract-gitpod",
      registryId: "dockerhub",
      target: { kind: "gitpod-secret", name: "DOCKERHUB_AUTH", scope: { projectId: "b0e12f6c-4c67-429d-a4a6-d9838b5da047" }, apiUrl: `${proxy.url}/api`, tokenSecret: "pullkeeper/gitpod-token" },
    };
    return {
      target,
      consumer,
      held: async () => {
        const found = fake.secrets.filter((s) => s.name === "DOCKERHUB_AUTH");
        return found.length === 0 ? undefined : JSON.stringify(found.map((s) => s.value));
      },
      fail: (fault: Fault) => proxy.fail(fault),
      close: async () => {
        await proxy.close();
        await server.close();
      },
    };
  },
};

const kubernetes: TargetContractEntry = {
  kind: "kubernetes-secret",
  carries: "password",
  async start() {
    const api = new FakeApiServer();
    await api.start();
    const proxy = await faultProxy(`http://127.0.0.1:${api.port}`);
    const temp = await tempDir();
    const kubeconfig = join(temp.dir, "kubeconfig");
    await writeFile(kubeconfig, kubeconfigYaml(proxy.port), { mode: 0o600 });
    const consumer: Consumer = { id: "contract-kubernetes", registryId: "dockerhub", target: { kind: "kubernetes-secret", secretName: "dockerhub-pull", namespaces: ["team-a"], kubeconfig } };
    return {
      target: new KubernetesSecretTarget({ timeoutMs: TIMEOUT_MS }),
      consumer,
      held: async () => {
        const secret = api.secrets.get("team-a/dockerhub-pull") as { data: Record<string, string>; metadata: { annotations?: Record<string, string> } } | undefined;
        if (secret === undefined) return undefined;
        const config = Buffer.from(secret.data[".dockerconfigjson"] ?? "", "base64").toString("utf8");
        return `${config} version=${secret.metadata.annotations?.["pullkeeper.dev/version-id"]}`;
      },
      fail: (fault: Fault) => proxy.fail(fault),
      close: async () => {
        await proxy.close();
        await api.stop();
        await temp.remove();
      },
    };
  },
};

const dockerConfig: TargetContractEntry = {
  kind: "docker-config",
  carries: "password",
  async start() {
    const temp = await tempDir();
    const path = join(temp.dir, "config.json");
    return {
      target: new DockerConfigTarget({ home: temp.dir }),
      consumer: { id: "contract-docker-config", registryId: "dockerhub", target: { kind: "docker-config", path } },
      held: async () => {
        const auths = (JSON.parse(await readFile(path, "utf8")) as { auths: Record<string, { auth: string }> }).auths;
        return JSON.stringify(Object.fromEntries(Object.entries(auths).map(([host, entry]) => [host, Buffer.from(entry.auth, "base64").toString("utf8")])));
      },
      // A local file: no provider to answer 401, 429 or a reset.
      close: temp.remove,
    };
  },
};

const webhook: TargetContractEntry = {
  kind: "webhook",
  carries: "versionId",
  async start() {
    // A receiver that de-duplicates on the delivery id, as docs/webhook-signature.md tells receivers to.
    const held = new Map<string, string>();
    const receiver = await startServer((req, res) => {
      const id = req.headers[WEBHOOK_DELIVERY_ID_HEADER.toLowerCase()];
      held.set(String(id), (JSON.parse(req.body) as { versionId: string }).versionId);
      res.writeHead(204);
      res.end();
    });
    const proxy = await faultProxy(receiver.url);
    const target = new WebhookTarget({ timeoutMs: TIMEOUT_MS, readCredential: async () => credential("pullkeeper", "whsec_contract_0123456789abcdef") });
    return {
      target,
      consumer: { id: "contract-webhook", registryId: "dockerhub", target: { kind: "webhook", url: `${proxy.url}/hooks/pullkeeper`, signingSecret: "pullkeeper/webhook-key" } },
      held: async () => (held.size === 0 ? undefined : JSON.stringify([...held])),
      fail: (fault: Fault) => proxy.fail(fault),
      close: async () => {
        await proxy.close();
        await receiver.close();
      },
    };
  },
};

/** AWS answers faults with SDK errors, never a Retry-After: the same faults, as the SDK throws them. */
function awsFault(fault: Fault): Error {
  if (fault.kind === "reset") return Object.assign(new Error("socket hang up"), { code: "ECONNRESET", $metadata: {} });
  if (fault.kind === "timeout") return Object.assign(new Error("Connection timed out after 300 ms"), { name: "TimeoutError", $metadata: {} });
  switch (fault.status) {
    case 401:
      return awsError("ExpiredTokenException", "The security token included in the request is expired", 400);
    case 403:
      return awsError("AccessDeniedException", `User: arn:aws:sts::${ACCOUNT}:assumed-role/pullkeeper-deliver/fn is not authorized to perform this action`, 400);
    case 404:
      return awsError("ResourceNotFoundException", "The resource could not be found", 400);
    case 429:
      return awsError("ThrottlingException", "Rate exceeded", 400);
    default:
      return awsError(fault.status === 503 ? "ServiceUnavailableException" : "InternalServerError", "We encountered an internal error", fault.status);
  }
}

/** The provider's next answer only is the fault, as `TargetHarness.fail` says: the one after it succeeds again. */
function oneShot(): { set(error: Error): void; take(): void } {
  let pending: Error | undefined;
  return {
    set: (error) => void (pending = error),
    take: () => {
      const error = pending;
      pending = undefined;
      if (error !== undefined) throw error;
    },
  };
}

function awsClients() {
  const iam = new IAMClient({ region: "eu-west-1", maxAttempts: 1 });
  const sm = new SecretsManagerClient({ region: "eu-west-1", maxAttempts: 1 });
  mockClient(iam).on(SimulatePrincipalPolicyCommand).callsFake(simulation(() => "allowed"));
  mockClient(sm).on(DescribeSecretCommand).resolves(describeSecretOutput(CONTRACT_SECRET_ARN, { current: CONTRACT_VERSION }));
  return { iam: () => iam, secretsManager: () => sm };
}

const codeBuild: TargetContractEntry = {
  kind: "codebuild-project",
  carries: "secretArn",
  noRetryAfter: true,
  async start() {
    const client = new CodeBuildClient({ region: "eu-west-1", maxAttempts: 1 });
    const mock = mockClient(client);
    const project: Project = {
      name: "web-build",
      arn: `arn:aws:codebuild:eu-west-1:${ACCOUNT}:project/web-build`,
      serviceRole: `arn:aws:iam::${ACCOUNT}:role/service-role/codebuild-web-build-service-role`,
      environment: {
        type: "LINUX_CONTAINER",
        image: "acme/builder:2026.02",
        computeType: "BUILD_GENERAL1_SMALL",
        imagePullCredentialsType: "SERVICE_ROLE",
        registryCredential: { credential: CONTRACT_SECRET_ARN, credentialProvider: "SECRETS_MANAGER" },
      },
    };
    const next = oneShot();
    mock.on(BatchGetProjectsCommand).callsFake(async () => (next.take(), { projects: [project], projectsNotFound: [] }));
    return {
      target: new CodeBuildTarget({ codeBuild: () => client, ...awsClients() }),
      consumer: { id: "contract-codebuild", registryId: "dockerhub", target: { kind: "codebuild-project", project: "web-build" } },
      held: async () => project.environment?.registryCredential?.credential,
      fail: (fault: Fault) => next.set(awsFault(fault)),
      close: async () => undefined,
    };
  },
};

const ecs: TargetContractEntry = {
  kind: "ecs-task-definition",
  carries: "secretArn",
  noRetryAfter: true,
  async start() {
    const client = new ECSClient({ region: "eu-west-1", maxAttempts: 1 });
    const mock = mockClient(client);
    const definition = {
      taskDefinitionArn: `arn:aws:ecs:eu-west-1:${ACCOUNT}:task-definition/web:3`,
      family: "web",
      revision: 3,
      status: "ACTIVE" as const,
      executionRoleArn: `arn:aws:iam::${ACCOUNT}:role/ecsTaskExecutionRole`,
      containerDefinitions: [{ name: "app", image: "acme/web:1.4.2", essential: true, repositoryCredentials: { credentialsParameter: CONTRACT_SECRET_ARN } }],
    };
    const next = oneShot();
    mock.on(DescribeTaskDefinitionCommand).callsFake(async () => (next.take(), { taskDefinition: definition, tags: [] }));
    return {
      target: new EcsTaskDefinitionTarget({ ecs: () => client, ...awsClients() }),
      consumer: { id: "contract-ecs", registryId: "dockerhub", target: { kind: "ecs-task-definition", family: "web" } },
      held: async () => definition.containerDefinitions.map((c) => c.repositoryCredentials.credentialsParameter).join(","),
      fail: (fault: Fault) => next.set(awsFault(fault)),
      close: async () => undefined,
    };
  },
};

const secretsManagerCopy: TargetContractEntry = {
  kind: "secrets-manager-copy",
  carries: "password",
  noRetryAfter: true,
  async start() {
    const sm = new FakeSecretsManager();
    sm.add("ci/dockerhub-copy");
    return {
      target: new SecretsManagerCopyTarget({ secretsManager: () => sm.client }),
      consumer: { id: "contract-secrets-manager-copy", registryId: "dockerhub", target: { kind: "secrets-manager-copy", secretId: "ci/dockerhub-copy" } },
      held: async () => sm.current("ci/dockerhub-copy"),
      fail: (fault: Fault) => sm.fail(awsFault(fault)),
      close: async () => undefined,
    };
  },
};

const ecrPullThroughCache: TargetContractEntry = {
  kind: "ecr-pull-through-cache",
  carries: "password",
  noRetryAfter: true,
  async start() {
    const sm = new FakeSecretsManager();
    const secret = sm.add("ecr-pullthroughcache/docker-hub");
    const ecr = new ECRClient({ region: "eu-west-1", maxAttempts: 1 });
    mockClient(ecr)
      .on(ValidatePullThroughCacheRuleCommand)
      .resolves({ ecrRepositoryPrefix: "docker-hub", registryId: ACCOUNT, upstreamRegistryUrl: "registry-1.docker.io", credentialArn: secret.arn, isValid: true });
    return {
      target: new EcrPullThroughCacheTarget({ secretsManager: () => sm.client, ecr: () => ecr }),
      consumer: { id: "contract-ecr-pull-through-cache", registryId: "dockerhub", target: { kind: "ecr-pull-through-cache", ecrRepositoryPrefix: "docker-hub", region: "eu-west-1" } },
      held: async () => sm.current("ecr-pullthroughcache/docker-hub"),
      fail: (fault: Fault) => sm.fail(awsFault(fault)),
      close: async () => undefined,
    };
  },
};

/** Every target kind, one line each: a kind the runtime registers without a line here fails below. */
export const TARGET_ENTRIES: readonly TargetContractEntry[] = [
  github("codespaces-secret"),
  github("github-actions-secret"),
  github("dependabot-secret"),
  gitpod,
  kubernetes,
  dockerConfig,
  webhook,
  codeBuild,
  ecs,
  secretsManagerCopy,
  ecrPullThroughCache,
];

