import { BatchGetProjectsCommand, type BatchGetProjectsCommandOutput, CodeBuildClient, type Project, UpdateProjectCommand, type UpdateProjectCommandInput } from "@aws-sdk/client-codebuild";
import { IAMClient, NoSuchEntityException, SimulatePrincipalPolicyCommand } from "@aws-sdk/client-iam";
import { DescribeSecretCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { type Consumer, DeliveryError, type Registry } from "@pullkeeper/core";
import type { MetadataBearer } from "@aws-sdk/types";
import { type AwsStub, mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import {
  ACCOUNT,
  awsError,
  type Decision,
  deliveryContext,
  describeSecretOutput,
  OTHER_ACCOUNT,
  PASSWORD,
  secretArn,
  simulation,
  VERSION_ID,
  visible,
} from "../shared/testing.js";
import { WiringError } from "../shared/wiring.js";
import { CodeBuildTarget } from "./codebuild-target.js";
import { codeBuildProjectTargetSchema } from "./schema.js";

const SECRET = secretArn("eu-west-1");
const ROLE = `arn:aws:iam::${ACCOUNT}:role/service-role/codebuild-web-build-service-role`;
const KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab";

/** A project as BatchGetProjects returns it, wired right for the Docker Hub registry. */
function project(overrides: { region?: string; account?: string; environment?: Partial<NonNullable<Project["environment"]>>; serviceRole?: string | undefined } = {}): Project {
  const region = overrides.region ?? "eu-west-1";
  const account = overrides.account ?? ACCOUNT;
  return {
    name: "web-build",
    arn: `arn:aws:codebuild:${region}:${account}:project/web-build`,
    description: "Builds the web image",
    source: { type: "GITHUB", location: "https://github.com/acme/web.git", gitCloneDepth: 1, buildspec: "buildspec.yml", reportBuildStatus: true, insecureSsl: false },
    secondarySources: [],
    secondarySourceVersions: [],
    artifacts: { type: "NO_ARTIFACTS" },
    secondaryArtifacts: [],
    cache: { type: "NO_CACHE" },
    environment: {
      type: "LINUX_CONTAINER",
      image: "acme/builder:2026.02@sha256:4f3c1e0b9a8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b",
      computeType: "BUILD_GENERAL1_SMALL",
      // Someone pasted the token into a plaintext variable: it must still never be echoed.
      environmentVariables: [
        { name: "STAGE", value: "prod", type: "PLAINTEXT" },
        { name: "LEGACY_TOKEN", value: PASSWORD, type: "PLAINTEXT" },
      ],
      privilegedMode: true,
      imagePullCredentialsType: "SERVICE_ROLE",
      registryCredential: { credential: SECRET, credentialProvider: "SECRETS_MANAGER" },
      ...overrides.environment,
    },
    ...("serviceRole" in overrides ? (overrides.serviceRole === undefined ? {} : { serviceRole: overrides.serviceRole }) : { serviceRole: ROLE }),
    timeoutInMinutes: 60,
    queuedTimeoutInMinutes: 480,
    encryptionKey: `arn:aws:kms:${region}:${account}:alias/aws/s3`,
    tags: [{ key: "team", value: "platform" }],
    created: new Date("2025-06-03T11:22:33.456Z"),
    lastModified: new Date("2026-01-15T08:00:00.000Z"),
    badge: { badgeEnabled: false },
    logsConfig: { cloudWatchLogs: { status: "ENABLED" }, s3Logs: { status: "DISABLED", encryptionDisabled: false } },
    projectVisibility: "PRIVATE",
  };
}

function found(p: Project): BatchGetProjectsCommandOutput {
  return { $metadata: { httpStatusCode: 200 }, projects: [p], projectsNotFound: [] };
}

function consumer(target: Record<string, unknown> = {}): Consumer {
  return { id: "web-build", registryId: "dockerhub", target: { kind: "codebuild-project", project: "web-build", ...target } };
}

let codeBuild: CodeBuildClient;
let iam: IAMClient;
let sm: SecretsManagerClient;
let cbMock: AwsStub<object, MetadataBearer, unknown>;
let iamMock: AwsStub<object, MetadataBearer, unknown>;
let smMock: AwsStub<object, MetadataBearer, unknown>;
let regions: { codeBuild: string[]; iam: string[]; secretsManager: string[] };

function target(): CodeBuildTarget {
  return new CodeBuildTarget({
    codeBuild: (region) => (regions.codeBuild.push(region), codeBuild),
    iam: (region) => (regions.iam.push(region), iam),
    secretsManager: (region) => (regions.secretsManager.push(region), sm),
  });
}

function decide(decisions: Partial<Record<string, Decision>> = {}): void {
  iamMock.on(SimulatePrincipalPolicyCommand).callsFake(simulation((action) => decisions[action] ?? "allowed"));
}

async function failure(promise: Promise<unknown>): Promise<WiringError & DeliveryError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DeliveryError);
  return error as WiringError & DeliveryError;
}

/** The default consumer's delivery fails for good with `code`, its message saying each of `says`. */
async function refused(code: string, ...says: string[]): Promise<WiringError & DeliveryError> {
  const error = await failure(target().deliver(deliveryContext(consumer())));
  expect(error).toMatchObject({ code, retryable: false });
  for (const text of says) expect(error.message).toContain(text);
  return error;
}

beforeEach(() => {
  codeBuild = new CodeBuildClient({ region: "eu-west-1", maxAttempts: 1 });
  iam = new IAMClient({ region: "eu-west-1", maxAttempts: 1 });
  sm = new SecretsManagerClient({ region: "eu-west-1", maxAttempts: 1 });
  cbMock = mockClient(codeBuild);
  iamMock = mockClient(iam);
  smMock = mockClient(sm);
  regions = { codeBuild: [], iam: [], secretsManager: [] };
  smMock.on(DescribeSecretCommand).resolves(describeSecretOutput(SECRET));
  cbMock.on(BatchGetProjectsCommand).resolves(found(project()));
  decide();
});

afterEach(() => {
  vi.unstubAllEnvs();
});

describe("CodeBuildTarget: wired right", () => {
  it("verifies a correctly wired project and says what it checked", async () => {
    const outcome = await target().deliver(deliveryContext(consumer()));
    expect(outcome.status).toBe("verified");
    expect(outcome.detail).toContain("CodeBuild project web-build (eu-west-1, account 123456789012)");
    expect(outcome.detail).toContain(`registry secret ${SECRET} (SECRETS_MANAGER, SERVICE_ROLE)`);
    expect(outcome.detail).toContain(`service role ${ROLE} may secretsmanager:GetSecretValue on the secret`);
    expect(outcome.detail).toContain(`AWSCURRENT version ${VERSION_ID}`);
    expect(outcome.detail).toContain("builds already running keep the value they started with");

    expect(cbMock.commandCalls(BatchGetProjectsCommand)[0]?.args[0].input).toEqual({ names: ["web-build"] });
    expect(smMock.commandCalls(DescribeSecretCommand)[0]?.args[0].input).toEqual({ SecretId: SECRET });
    const sims = iamMock.commandCalls(SimulatePrincipalPolicyCommand).map((c) => c.args[0].input);
    expect(sims).toHaveLength(1); // AWS managed key: no kms:Decrypt to check
    expect(sims[0]).toMatchObject({ PolicySourceArn: ROLE, ActionNames: ["secretsmanager:GetSecretValue"], ResourceArns: [SECRET] });
    expect(sims[0]?.ContextEntries).toEqual(
      expect.arrayContaining([
        { ContextKeyName: "secretsmanager:SecretId", ContextKeyValues: [SECRET], ContextKeyType: "string" },
        { ContextKeyName: "aws:ResourceTag/team", ContextKeyValues: ["platform"], ContextKeyType: "string" },
      ]),
    );
    expect(cbMock.commandCalls(UpdateProjectCommand)).toHaveLength(0);
    // Default region: the secret's.
    expect(regions.codeBuild).toEqual(["eu-west-1"]);
    expect(regions.secretsManager).toEqual(["eu-west-1"]);
  });

  it("checks kms:Decrypt on a customer-managed key, with the context Secrets Manager sends", async () => {
    smMock.on(DescribeSecretCommand).resolves(describeSecretOutput(SECRET, { kmsKeyId: KEY_ID }));
    const outcome = await target().deliver(deliveryContext(consumer()));
    const keyArn = `arn:aws:kms:eu-west-1:${ACCOUNT}:key/${KEY_ID}`;
    expect(outcome.detail).toContain(`it may kms:Decrypt with the secret's customer-managed key ${keyArn}`);
    const decrypt = iamMock.commandCalls(SimulatePrincipalPolicyCommand).map((c) => c.args[0].input).find((i) => i.ActionNames?.[0] === "kms:Decrypt");
    expect(decrypt).toMatchObject({ PolicySourceArn: ROLE, ResourceArns: [keyArn] });
    expect(decrypt?.ContextEntries).toEqual(
      expect.arrayContaining([
        { ContextKeyName: "kms:ViaService", ContextKeyValues: ["secretsmanager.eu-west-1.amazonaws.com"], ContextKeyType: "string" },
        { ContextKeyName: "kms:EncryptionContext:SecretARN", ContextKeyValues: [SECRET], ContextKeyType: "string" },
      ]),
    );
  });

  it("does not simulate kms:Decrypt for the AWS managed key named explicitly", async () => {
    smMock.on(DescribeSecretCommand).resolves(describeSecretOutput(SECRET, { kmsKeyId: "alias/aws/secretsmanager" }));
    await target().deliver(deliveryContext(consumer()));
    expect(iamMock.commandCalls(SimulatePrincipalPolicyCommand).map((c) => c.args[0].input.ActionNames)).toEqual([["secretsmanager:GetSecretValue"]]);
  });

  it("accepts a bare secret name when the project is in the secret's region and account", async () => {
    cbMock.on(BatchGetProjectsCommand).resolves(found(project({ environment: { registryCredential: { credential: "pullkeeper/dockerhub", credentialProvider: "SECRETS_MANAGER" } } })));
    await expect(target().deliver(deliveryContext(consumer()))).resolves.toMatchObject({ status: "verified" });
  });

  it("accepts the image host spelled registry-1.docker.io and a registry configured as index.docker.io", async () => {
    cbMock.on(BatchGetProjectsCommand).resolves(found(project({ environment: { image: "registry-1.docker.io/acme/builder:7" } })));
    const registry: Registry = { id: "dockerhub", host: "index.docker.io", kind: "dockerhub", source: { type: "managed-secret" }, secret: SECRET, verify: {} };
    await expect(target().deliver(deliveryContext(consumer(), { registry }))).resolves.toMatchObject({ status: "verified" });
  });

  it("looks the project up in the region of its ARN", async () => {
    const arn = `arn:aws:codebuild:us-east-1:${ACCOUNT}:project/web-build`;
    cbMock.on(BatchGetProjectsCommand).resolves(found(project({ region: "us-east-1", environment: { registryCredential: { credential: SECRET, credentialProvider: "SECRETS_MANAGER" } } })));
    await target().deliver(deliveryContext(consumer({ project: arn })));
    expect(regions.codeBuild).toEqual(["us-east-1"]);
    expect(regions.secretsManager).toEqual(["eu-west-1"]);
    expect(cbMock.commandCalls(BatchGetProjectsCommand)[0]?.args[0].input).toEqual({ names: [arn] });
  });
});

describe("CodeBuildTarget: not found and AWS errors", () => {
  it("reports a project that does not exist as not_found, not retryable", async () => {
    cbMock.on(BatchGetProjectsCommand).resolves({ $metadata: { httpStatusCode: 200 }, projects: [], projectsNotFound: ["web-build"] });
    const error = await refused("not_found");
    expect(error.message).toBe("CodeBuild project web-build not found in eu-west-1");
  });

  it("classifies throttling as throttled, retryable, with no Retry-After", async () => {
    cbMock.on(BatchGetProjectsCommand).rejects(awsError("ThrottlingException", "Rate exceeded"));
    const error = await failure(target().deliver(deliveryContext(consumer())));
    expect(error).toMatchObject({ code: "throttled", retryable: true, retryAfterMs: undefined });
  });

  it("classifies IAM's Throttling on the simulation as throttled too", async () => {
    iamMock.on(SimulatePrincipalPolicyCommand).rejects(awsError("Throttling", "Rate exceeded"));
    await expect(target().deliver(deliveryContext(consumer()))).rejects.toMatchObject({ code: "throttled", retryable: true });
  });

  it("classifies AccessDenied on pullkeeper's own call as access_denied, not retryable", async () => {
    cbMock
      .on(BatchGetProjectsCommand)
      .rejects(awsError("AccessDeniedException", `User: arn:aws:sts::${ACCOUNT}:assumed-role/pullkeeper-deliver/fn is not authorized to perform: codebuild:BatchGetProjects`));
    await refused("access_denied", "codebuild:BatchGetProjects");
  });

  it("classifies a 5xx as unavailable, retryable", async () => {
    cbMock.on(BatchGetProjectsCommand).rejects(awsError("InternalServerError", "We encountered an internal error", 500));
    await expect(target().deliver(deliveryContext(consumer()))).rejects.toMatchObject({ code: "unavailable", retryable: true });
  });

  it("reports an unknown registry secret as not_found", async () => {
    smMock.on(DescribeSecretCommand).rejects(awsError("ResourceNotFoundException", "Secrets Manager can't find the specified secret."));
    await expect(target().deliver(deliveryContext(consumer()))).rejects.toMatchObject({ code: "not_found", retryable: false });
  });
});

describe("CodeBuildTarget: every wiring fault", () => {
  it("wiring_secret_reference: the project references another secret", async () => {
    const other = secretArn("eu-west-1", ACCOUNT, "team-b/dockerhub", "QwErTy");
    cbMock.on(BatchGetProjectsCommand).resolves(found(project({ environment: { registryCredential: { credential: other, credentialProvider: "SECRETS_MANAGER" } } })));
    await refused("wiring_secret_reference", `references ${other}, not the registry's secret ${SECRET}`, "fixWiring: true");
  });

  it("wiring_secret_reference: a re-created secret with the same name but another ARN suffix", async () => {
    const earlier = secretArn("eu-west-1", ACCOUNT, "pullkeeper/dockerhub", "ZzZzZz");
    cbMock.on(BatchGetProjectsCommand).resolves(found(project({ environment: { registryCredential: { credential: earlier, credentialProvider: "SECRETS_MANAGER" } } })));
    await refused("wiring_secret_reference", "an earlier secret with the same name");
  });

  it("wiring_secret_reference: no registryCredential at all", async () => {
    const p = project();
    delete p.environment?.registryCredential;
    cbMock.on(BatchGetProjectsCommand).resolves(found(p));
    const error = await refused("wiring_secret_reference", `references no secret; expected the registry's secret ${SECRET}`);
    expect(error.faults.map((f) => f.code)).toEqual(["wiring_secret_reference"]);
  });

  it("wiring_secret_reference: a secret in another region referenced by name", async () => {
    cbMock.on(BatchGetProjectsCommand).resolves(found(project({ region: "us-east-1", environment: { registryCredential: { credential: "pullkeeper/dockerhub", credentialProvider: "SECRETS_MANAGER" } } })));
    const error = await failure(target().deliver(deliveryContext(consumer({ region: "us-east-1" }))));
    expect(error).toMatchObject({ code: "wiring_secret_reference", retryable: false });
    expect(error.message).toContain('references the secret by name ("pullkeeper/dockerhub"), which resolves in us-east-1');
    expect(error.message).toContain(`must be referenced by its full ARN ${SECRET}`);
    expect(regions.codeBuild).toEqual(["us-east-1"]);
  });

  it("wiring_secret_reference: a secret in another account referenced by name", async () => {
    const shared = secretArn("eu-west-1", OTHER_ACCOUNT);
    smMock.on(DescribeSecretCommand).resolves(describeSecretOutput(shared, { kmsKeyId: `arn:aws:kms:eu-west-1:${OTHER_ACCOUNT}:key/${KEY_ID}` }));
    cbMock.on(BatchGetProjectsCommand).resolves(found(project({ environment: { registryCredential: { credential: "pullkeeper/dockerhub", credentialProvider: "SECRETS_MANAGER" } } })));
    const error = await failure(target().deliver(deliveryContext(consumer(), { secretArn: shared })));
    expect(error.code).toBe("wiring_secret_reference");
    expect(error.message).toContain(`account ${OTHER_ACCOUNT}`);
  });

  const environmentCases: [code: string, what: string, environment: Partial<NonNullable<Project["environment"]>>, message: string][] = [
    ["wiring_credential_provider", "credentialProvider is not SECRETS_MANAGER", { registryCredential: { credential: SECRET, credentialProvider: "PARAMETER_STORE" as "SECRETS_MANAGER" } }, "credentialProvider is PARAMETER_STORE; expected SECRETS_MANAGER"],
    ["wiring_pull_credentials_type", "CODEBUILD credentials", { imagePullCredentialsType: "CODEBUILD" }, "imagePullCredentialsType is CODEBUILD"],
    ["wiring_ecr_image", "the project's image is on ECR", { image: `${ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com/builder:latest` }, "pulls ECR images through IAM"],
    ["wiring_image_host", "the project's image is on another registry", { image: "ghcr.io/acme/builder:7" }, "which is on ghcr.io, not on registry dockerhub's host docker.io"],
    ["wiring_image_host", "a CodeBuild-managed image", { image: "aws/codebuild/standard:7.0" }, "CodeBuild-managed image aws/codebuild/standard:7.0"],
  ];
  it.each(environmentCases)("%s: %s", async (code, _what, environment, message) => {
    cbMock.on(BatchGetProjectsCommand).resolves(found(project({ environment })));
    await refused(code, message);
  });

  it("wiring_ecr_image: the registry is ECR — refused before any AWS call, with a clear reason", async () => {
    const ecr: Registry = {
      id: "prod-ecr",
      host: `${ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com`,
      kind: "ecr",
      source: { type: "ecr-token", account: ACCOUNT, region: "eu-west-1" },
      secret: "pullkeeper/prod-ecr",
      verify: {},
    };
    const error = await failure(target().deliver(deliveryContext(consumer(), { registry: ecr })));
    expect(error).toMatchObject({ code: "wiring_ecr_image", retryable: false });
    expect(error.message).toContain("CodeBuild pulls ECR images through IAM");
    expect(error.message).toContain("never with a Secrets Manager secret");
    expect(cbMock.calls()).toHaveLength(0);
    expect(smMock.calls()).toHaveLength(0);
  });

  it("wiring_ecr_image: the registry is ECR Public", async () => {
    const ecrPublic: Registry = { id: "pub", host: "public.ecr.aws", kind: "ecr-public", source: { type: "ecr-token", account: ACCOUNT, region: "us-east-1" }, secret: "pullkeeper/pub", verify: {} };
    await expect(target().deliver(deliveryContext(consumer(), { registry: ecrPublic }))).rejects.toMatchObject({ code: "wiring_ecr_image" });
  });

  it("wiring_role_cannot_read: the service role may not GetSecretValue (names role and action)", async () => {
    decide({ "secretsmanager:GetSecretValue": "implicitDeny" });
    await refused("wiring_role_cannot_read", `service role ${ROLE} may not secretsmanager:GetSecretValue on ${SECRET}`, "implicitDeny");
  });

  it("wiring_role_cannot_decrypt: the service role may not kms:Decrypt with the customer key", async () => {
    const keyArn = `arn:aws:kms:eu-west-1:${ACCOUNT}:key/${KEY_ID}`;
    smMock.on(DescribeSecretCommand).resolves(describeSecretOutput(SECRET, { kmsKeyId: keyArn }));
    decide({ "kms:Decrypt": "explicitDeny" });
    await refused("wiring_role_cannot_decrypt", `service role ${ROLE} may not kms:Decrypt on ${keyArn}`, "explicitly denies");
  });

  it("wiring_role_cannot_decrypt: a secret shared from another account under the AWS managed key", async () => {
    const shared = secretArn("eu-west-1", OTHER_ACCOUNT);
    smMock.on(DescribeSecretCommand).resolves(describeSecretOutput(shared));
    cbMock.on(BatchGetProjectsCommand).resolves(found(project({ environment: { registryCredential: { credential: shared, credentialProvider: "SECRETS_MANAGER" } } })));
    const error = await failure(target().deliver(deliveryContext(consumer(), { secretArn: shared })));
    expect(error.code).toBe("wiring_role_cannot_decrypt");
    expect(error.message).toContain("AWS managed key aws/secretsmanager");
  });

  it("wiring_no_service_role: the service role does not exist", async () => {
    iamMock.on(SimulatePrincipalPolicyCommand).rejects(new NoSuchEntityException({ message: `The role with name codebuild-web-build-service-role cannot be found.`, $metadata: {} }));
    await refused("wiring_no_service_role", `service role ${ROLE} does not exist`);
  });

  it("reports every fault at once; the code is the first one's", async () => {
    cbMock.on(BatchGetProjectsCommand).resolves(found(project({ environment: { imagePullCredentialsType: "CODEBUILD", registryCredential: { credential: "other", credentialProvider: "SECRETS_MANAGER" } } })));
    decide({ "secretsmanager:GetSecretValue": "implicitDeny" });
    const error = await refused("wiring_secret_reference");
    expect(error.faults.map((f) => f.code)).toEqual(["wiring_secret_reference", "wiring_pull_credentials_type", "wiring_role_cannot_read"]);
    expect(error.message).toMatch(/\(1\) \[wiring_secret_reference\].*\(2\) \[wiring_pull_credentials_type\].*\(3\) \[wiring_role_cannot_read\]/);
    expect(error.message).toContain("pullkeeper never changes roles; once the role is fixed, fixWiring: true on consumer web-build");
  });
});

describe("CodeBuildTarget: fixWiring", () => {
  it("sets registryCredential (full ARN) and imagePullCredentialsType, keeps the rest, and says what changed", async () => {
    const broken = project({ environment: { imagePullCredentialsType: "CODEBUILD", registryCredential: { credential: "pullkeeper/dockerhub", credentialProvider: "SECRETS_MANAGER" } } });
    cbMock.on(BatchGetProjectsCommand).resolves(found(broken));
    cbMock.on(UpdateProjectCommand).callsFake((input: UpdateProjectCommandInput) => ({ project: { ...broken, environment: input.environment } }));
    const outcome = await target().deliver(deliveryContext(consumer({ fixWiring: true })));

    const update = cbMock.commandCalls(UpdateProjectCommand);
    expect(update).toHaveLength(1);
    expect(update[0]?.args[0].input).toEqual({
      name: "web-build",
      environment: {
        ...broken.environment,
        registryCredential: { credential: SECRET, credentialProvider: "SECRETS_MANAGER" },
        imagePullCredentialsType: "SERVICE_ROLE",
      },
    });
    expect(outcome.status).toBe("verified");
    expect(outcome.detail).toContain(`registryCredential.credential: pullkeeper/dockerhub → ${SECRET}`);
    expect(outcome.detail).toContain("imagePullCredentialsType: CODEBUILD → SERVICE_ROLE");
    expect(outcome.detail).not.toContain("credentialProvider:");
  });

  it("adds a missing registryCredential", async () => {
    const p = project();
    delete p.environment?.registryCredential;
    cbMock.on(BatchGetProjectsCommand).resolves(found(p));
    cbMock.on(UpdateProjectCommand).callsFake((input: UpdateProjectCommandInput) => ({ project: { ...p, environment: input.environment } }));
    const outcome = await target().deliver(deliveryContext(consumer({ fixWiring: true })));
    expect(cbMock.commandCalls(UpdateProjectCommand)[0]?.args[0].input.environment?.registryCredential).toEqual({ credential: SECRET, credentialProvider: "SECRETS_MANAGER" });
    expect(outcome.detail).toContain(`registryCredential.credential: (none) → ${SECRET}`);
    expect(outcome.detail).toContain("registryCredential.credentialProvider: (none) → SECRETS_MANAGER");
  });

  it("never fixes a role: with a role fault, nothing is updated and every fault is reported", async () => {
    cbMock.on(BatchGetProjectsCommand).resolves(found(project({ environment: { imagePullCredentialsType: "CODEBUILD" } })));
    decide({ "secretsmanager:GetSecretValue": "implicitDeny" });
    const error = await failure(target().deliver(deliveryContext(consumer({ fixWiring: true }))));
    expect(cbMock.commandCalls(UpdateProjectCommand)).toHaveLength(0);
    expect(error.faults.map((f) => f.code)).toEqual(["wiring_pull_credentials_type", "wiring_role_cannot_read"]);
    expect(error.message).toContain("fixWiring changed nothing");
  });

  it("does not update without the opt-in", async () => {
    cbMock.on(BatchGetProjectsCommand).resolves(found(project({ environment: { imagePullCredentialsType: "CODEBUILD" } })));
    await expect(target().deliver(deliveryContext(consumer()))).rejects.toMatchObject({ code: "wiring_pull_credentials_type" });
    expect(cbMock.commandCalls(UpdateProjectCommand)).toHaveLength(0);
  });

  it("reports AccessDenied on UpdateProject as access_denied", async () => {
    cbMock.on(BatchGetProjectsCommand).resolves(found(project({ environment: { imagePullCredentialsType: "CODEBUILD" } })));
    cbMock.on(UpdateProjectCommand).rejects(awsError("AccessDeniedException", "not authorized to perform: codebuild:UpdateProject"));
    await expect(target().deliver(deliveryContext(consumer({ fixWiring: true })))).rejects.toMatchObject({ code: "access_denied", retryable: false });
  });
});

describe("CodeBuildTarget: the credential value never shows", () => {
  it("appears in no outcome, error message or fault, whatever happens", async () => {
    const seen: string[] = [];
    const t = target();
    seen.push(visible(await t.deliver(deliveryContext(consumer()))));

    cbMock.on(BatchGetProjectsCommand).resolves(found(project({ environment: { imagePullCredentialsType: "CODEBUILD" } })));
    cbMock.on(UpdateProjectCommand).callsFake((input: UpdateProjectCommandInput) => ({ project: { ...project(), environment: input.environment } }));
    seen.push(visible(await t.deliver(deliveryContext(consumer({ fixWiring: true })))));

    decide({ "secretsmanager:GetSecretValue": "implicitDeny" });
    seen.push(visible(await t.deliver(deliveryContext(consumer())).catch((e: unknown) => e)));

    cbMock.on(BatchGetProjectsCommand).rejects(awsError("ThrottlingException", "Rate exceeded"));
    seen.push(visible(await t.deliver(deliveryContext(consumer())).catch((e: unknown) => e)));

    expect(seen).toHaveLength(4);
    for (const text of seen) expect(text).not.toContain(PASSWORD);
    // The update itself sends the environment back as it was, untouched.
    const sent = cbMock.commandCalls(UpdateProjectCommand)[0]?.args[0].input.environment?.environmentVariables;
    expect(sent?.find((v) => v.name === "LEGACY_TOKEN")?.value).toBe(PASSWORD);
  });
});

describe("CodeBuildTarget: schema and provider", () => {
  it("defaults fixWiring to false and rejects unknown fields, bad regions and a region that contradicts the ARN", () => {
    expect(codeBuildProjectTargetSchema.parse({ kind: "codebuild-project", project: "web-build" })).toEqual({ kind: "codebuild-project", project: "web-build", fixWiring: false });
    expect(codeBuildProjectTargetSchema.safeParse({ kind: "codebuild-project", project: "web-build", fixwiring: true }).success).toBe(false);
    expect(codeBuildProjectTargetSchema.safeParse({ kind: "codebuild-project", project: "web-build", region: "Europe" }).success).toBe(false);
    const mismatch = codeBuildProjectTargetSchema.safeParse({ kind: "codebuild-project", project: `arn:aws:codebuild:us-east-1:${ACCOUNT}:project/web-build`, region: "eu-west-1" });
    expect(mismatch.success).toBe(false);
    expect(mismatch.error?.issues[0]?.path).toEqual(["region"]);
    expect(codeBuildProjectTargetSchema.safeParse({ kind: "codebuild-project", project: "no spaces allowed" }).success).toBe(false);
  });

  it("reports a target that no longer parses as invalid_target, not retryable", async () => {
    await expect(target().deliver(deliveryContext({ id: "x", registryId: "dockerhub", target: { kind: "codebuild-project" } }))).rejects.toMatchObject({ code: "invalid_target", retryable: false });
  });

  it("names the rate-limit bucket aws:codebuild:<region>", () => {
    vi.stubEnv("AWS_REGION", "ap-southeast-2");
    const t = new CodeBuildTarget();
    expect(t.kind).toBe("codebuild-project");
    expect(t.provider(consumer({ region: "eu-central-1" }))).toBe("aws:codebuild:eu-central-1");
    expect(t.provider(consumer({ project: `arn:aws:codebuild:us-east-2:${ACCOUNT}:project/web-build` }))).toBe("aws:codebuild:us-east-2");
    expect(t.provider(consumer())).toBe("aws:codebuild:ap-southeast-2");
  });
});
