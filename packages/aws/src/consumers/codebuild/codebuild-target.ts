import { BatchGetProjectsCommand, CodeBuildClient, type Project, type ProjectEnvironment, UpdateProjectCommand } from "@aws-sdk/client-codebuild";
import { IAMClient } from "@aws-sdk/client-iam";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { type Consumer, type DeliveryContext, DeliveryError, type DeliveryOutcome, type DeliveryTarget, type DiscoveredEnvironment, type TargetFactory } from "@pullkeeper/core";
import { clientOptions } from "../../clients.js";
import { awsDeliveryError } from "../shared/aws-errors.js";
import { ambientRegion, isEcrRegistry, newReadersNote, parseConsumerTarget, perRegion } from "../shared/common.js";
import { imageOnHost, isCodeBuildCuratedImage, isEcrHost, parseImageReference } from "../shared/image-host.js";
import { checkRoleSecretAccess } from "../shared/principal-access.js";
import { type AwsLocation, describeRegistrySecret, parseArn, type RegistrySecret, secretReferenceFault } from "../shared/secret.js";
import { WiringCode, WiringError, type WiringFault } from "../shared/wiring.js";
import { discoverBuilds } from "./environments.js";
import { type CodeBuildProjectTargetConfig, codeBuildProjectArnRegion, codeBuildProjectTargetSchema } from "./schema.js";

export interface CodeBuildTargetOptions {
  /** Client factories, so tests and other endpoints can be swapped in; defaults build real clients (one per region, on first use). */
  readonly codeBuild?: (region: string) => CodeBuildClient;
  readonly iam?: (region: string) => IAMClient;
  readonly secretsManager?: (region: string) => SecretsManagerClient;
  /**
   * The secret (ARN or name) of a registry, so discovery looks for a consumer that names no
   * region where delivery does: in its secret's region. Without it, the deployment's region.
   */
  readonly registrySecret?: (registryId: string) => string | undefined;
}

const SECRETS_MANAGER = "SECRETS_MANAGER";
const SERVICE_ROLE = "SERVICE_ROLE";

/**
 * `codebuild-project`: CodeBuild reads the registry's secret itself when a build starts, so
 * delivering = the secret is current (done upstream) + the project is wired to it. This checks
 * the wiring and reports every fault precisely; with `fixWiring` it sets the project's
 * registryCredential and imagePullCredentialsType itself. It never changes a role.
 */
export class CodeBuildTarget implements DeliveryTarget {
  readonly kind = "codebuild-project";
  readonly schema = codeBuildProjectTargetSchema;
  readonly #codeBuild: (region: string) => CodeBuildClient;
  readonly #iam: (region: string) => IAMClient;
  readonly #secretsManager: (region: string) => SecretsManagerClient;
  readonly #registrySecret: (registryId: string) => string | undefined;

  constructor(options: CodeBuildTargetOptions = {}) {
    this.#codeBuild = options.codeBuild ?? perRegion((region) => new CodeBuildClient(clientOptions(region)));
    this.#iam = options.iam ?? perRegion((region) => new IAMClient(clientOptions(region)));
    this.#secretsManager = options.secretsManager ?? perRegion((region) => new SecretsManagerClient(clientOptions(region)));
    this.#registrySecret = options.registrySecret ?? (() => undefined);
  }

  /**
   * `aws:codebuild:<region>`. The registry's secret is not known here, so a consumer that names
   * no region (and no project ARN) counts against the deployment's own region.
   */
  provider(consumer: Consumer): string {
    const parsed = this.schema.safeParse(consumer.target);
    const region = parsed.success ? (parsed.data.region ?? codeBuildProjectArnRegion(parsed.data.project)) : undefined;
    return `aws:codebuild:${region ?? ambientRegion()}`;
  }

  async deliver(context: DeliveryContext): Promise<DeliveryOutcome> {
    const target: CodeBuildProjectTargetConfig = parseConsumerTarget(this.schema, context.consumer);
    const { registry } = context;
    if (isEcrRegistry(registry)) {
      throw new WiringError(`CodeBuild project ${target.project}`, [
        {
          code: WiringCode.ecrImage,
          message:
            `registry ${registry.id} is Amazon ECR (${registry.host}): CodeBuild pulls ECR images through IAM, with the project's service role ` +
            `(imagePullCredentialsType SERVICE_ROLE and ecr:GetAuthorizationToken, ecr:BatchGetImage, ecr:GetDownloadUrlForLayer), never with a Secrets Manager secret; ` +
            `remove this consumer and grant the service role pull access to the repository instead`,
        },
      ]);
    }
    const secretRegion = parseArn(context.secretArn)?.region || undefined;
    const region = target.region ?? codeBuildProjectArnRegion(target.project) ?? secretRegion ?? ambientRegion();
    const codeBuild = this.#codeBuild(region);

    const [secret, project] = await Promise.all([describeRegistrySecret(this.#secretsManager, context.secretArn, region), this.#project(codeBuild, target.project, region)]);
    const projectArn = parseArn(project.arn ?? "");
    const location: AwsLocation = { region: projectArn?.region || region, account: projectArn?.account ?? secret.account };
    const subject = `CodeBuild project ${project.name ?? target.project} (${location.region}, account ${location.account})`;
    const env: ProjectEnvironment = project.environment ?? { type: undefined, image: undefined, computeType: undefined };
    const image = env.image ?? "";

    this.#checkImage(subject, image, registry.id, registry.host);

    const faults: WiringFault[] = [];
    const referenceFault = secretReferenceFault(env.registryCredential?.credential, secret, location);
    if (referenceFault !== undefined) faults.push({ code: WiringCode.secretReference, message: `environment.registryCredential.credential ${referenceFault}`, fixable: true });
    if (env.registryCredential !== undefined && env.registryCredential.credentialProvider !== SECRETS_MANAGER) {
      faults.push({
        code: WiringCode.credentialProvider,
        message: `environment.registryCredential.credentialProvider is ${env.registryCredential.credentialProvider ?? "not set"}; expected ${SECRETS_MANAGER}`,
        fixable: true,
      });
    }
    if (env.imagePullCredentialsType !== SERVICE_ROLE) {
      faults.push({
        code: WiringCode.pullCredentialsType,
        message: `environment.imagePullCredentialsType is ${env.imagePullCredentialsType ?? "not set (CodeBuild's default, CODEBUILD)"}; CodeBuild uses a registry credential only with ${SERVICE_ROLE}`,
        fixable: true,
      });
    }

    const roleArn = this.#serviceRoleArn(project.serviceRole, secret.partition, location.account);
    let notes: readonly string[] = [];
    if (roleArn === undefined) {
      faults.push({ code: WiringCode.noServiceRole, message: "has no service role; CodeBuild reads the registry credential with the project's service role" });
    } else {
      const access = await checkRoleSecretAccess(this.#iam(region), { roleArn, roleLabel: "service role", secret });
      if (access.missingRole) faults.push({ code: WiringCode.noServiceRole, message: `service role ${roleArn} does not exist` });
      faults.push(...access.faults);
      notes = access.notes;
    }

    const what = `pulls ${image} with registry secret ${secret.arn} (${SECRETS_MANAGER}, ${SERVICE_ROLE})`;
    const tail = `${newReadersNote("builds", context.versionId, secret.currentVersionId)}; builds already running keep the value they started with`;
    if (faults.length === 0) {
      return { status: "verified", detail: `${subject} ${what}; ${[...notes, tail].join("; ")}` };
    }
    const fixable = faults.filter((f) => f.fixable === true);
    if (target.fixWiring && fixable.length === faults.length) {
      const changes = await this.#fix(codeBuild, subject, project, env, secret);
      return { status: "verified", detail: `${subject}: fixed the wiring (${changes.join("; ")}); it now ${what}; ${[...notes, tail].join("; ")}` };
    }
    let hint: string | undefined;
    if (fixable.length > 0 && !target.fixWiring) {
      hint =
        fixable.length === faults.length
          ? `Set fixWiring: true on consumer ${context.consumer.id} to let pullkeeper set registryCredential and imagePullCredentialsType itself`
          : `pullkeeper never changes roles; once the role is fixed, fixWiring: true on consumer ${context.consumer.id} lets it set registryCredential and imagePullCredentialsType itself`;
    } else if (fixable.length > 0) {
      hint = "fixWiring changed nothing: pullkeeper never changes roles, so the role faults must be fixed first";
    }
    throw new WiringError(subject, faults, hint);
  }

  /**
   * The project's running builds (queued ones hold no credential yet). There is no
   * restartEnvironment: a build cannot be restarted in place, and stopping one fails it.
   */
  async discoverEnvironments(consumer: Consumer): Promise<readonly DiscoveredEnvironment[]> {
    const target: CodeBuildProjectTargetConfig = parseConsumerTarget(this.schema, consumer);
    const secretRegion = parseArn(this.#registrySecret(consumer.registryId) ?? "")?.region || undefined;
    const region = target.region ?? codeBuildProjectArnRegion(target.project) ?? secretRegion ?? ambientRegion();
    return discoverBuilds(this.#codeBuild(region), projectName(target.project), region);
  }

  async #project(codeBuild: CodeBuildClient, project: string, region: string): Promise<Project> {
    let out;
    try {
      out = await codeBuild.send(new BatchGetProjectsCommand({ names: [project] }));
    } catch (error) {
      throw awsDeliveryError(error, `reading CodeBuild project ${project} in ${region} (codebuild:BatchGetProjects)`);
    }
    const found = out.projects?.[0];
    if (found === undefined) throw new DeliveryError("not_found", `CodeBuild project ${project} not found in ${region}`, { retryable: false });
    return found;
  }

  /** The image must be one a registry credential applies to, on this registry's host. */
  #checkImage(subject: string, image: string, registryId: string, registryHost: string): void {
    if (image === "") {
      throw new WiringError(subject, [{ code: WiringCode.imageHost, message: `has no environment image; expected an image on ${registryHost}` }]);
    }
    if (isCodeBuildCuratedImage(image)) {
      throw new WiringError(subject, [
        { code: WiringCode.imageHost, message: `uses the CodeBuild-managed image ${image}, which CodeBuild provides itself; registry ${registryId}'s credential is used only for an image on ${registryHost}` },
      ]);
    }
    const host = parseImageReference(image).host;
    if (isEcrHost(host)) {
      throw new WiringError(subject, [
        {
          code: WiringCode.ecrImage,
          message: `uses the ECR image ${image}: CodeBuild pulls ECR images through IAM with the service role, never with a Secrets Manager secret, so registry ${registryId}'s credential is not used`,
        },
      ]);
    }
    if (!imageOnHost(image, registryHost)) {
      throw new WiringError(subject, [{ code: WiringCode.imageHost, message: `uses the image ${image}, which is on ${host}, not on registry ${registryId}'s host ${registryHost}: builds never use this credential` }]);
    }
  }

  /** CodeBuild returns the role's ARN; a bare name is resolved in the project's account. */
  #serviceRoleArn(serviceRole: string | undefined, partition: string, account: string): string | undefined {
    if (serviceRole === undefined || serviceRole === "") return undefined;
    if (parseArn(serviceRole)) return serviceRole;
    return `arn:${partition}:iam::${account}:role/${serviceRole}`;
  }

  /** Sets registryCredential (full ARN) and imagePullCredentialsType; says what changed. */
  async #fix(codeBuild: CodeBuildClient, subject: string, project: Project, env: ProjectEnvironment, secret: RegistrySecret): Promise<string[]> {
    const changes: string[] = [];
    const before = env.registryCredential;
    if (before?.credential !== secret.arn) changes.push(`registryCredential.credential: ${before?.credential ?? "(none)"} → ${secret.arn}`);
    if (before?.credentialProvider !== SECRETS_MANAGER) changes.push(`registryCredential.credentialProvider: ${before?.credentialProvider ?? "(none)"} → ${SECRETS_MANAGER}`);
    if (env.imagePullCredentialsType !== SERVICE_ROLE) changes.push(`imagePullCredentialsType: ${env.imagePullCredentialsType ?? "(not set)"} → ${SERVICE_ROLE}`);
    let out;
    try {
      out = await codeBuild.send(
        new UpdateProjectCommand({
          name: project.name,
          environment: { ...env, registryCredential: { credential: secret.arn, credentialProvider: SECRETS_MANAGER }, imagePullCredentialsType: SERVICE_ROLE },
        }),
      );
    } catch (error) {
      throw awsDeliveryError(error, `${subject}: fixing the wiring (codebuild:UpdateProject)`);
    }
    const after = out.project?.environment;
    if (after !== undefined && (after.registryCredential?.credential !== secret.arn || after.imagePullCredentialsType !== SERVICE_ROLE)) {
      throw new DeliveryError("unavailable", `${subject}: UpdateProject answered with a project that is still not wired to ${secret.arn}`, { retryable: true });
    }
    return changes;
  }
}

/** ListBuildsForProject takes the project's name, never its ARN. */
function projectName(project: string): string {
  const arn = parseArn(project);
  return arn === undefined ? project : arn.resource.replace(/^project\//, "");
}

/** What the module loads (module.ts): clients are built per region on first use. */
const createTarget: TargetFactory = ({ registrySecret }) => new CodeBuildTarget(registrySecret ? { registrySecret } : {});
export default createTarget;
