import { DescribeTaskDefinitionCommand, ECSClient, type TaskDefinition, UpdateServiceCommand } from "@aws-sdk/client-ecs";
import { IAMClient } from "@aws-sdk/client-iam";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import {
  type Consumer,
  type DeliveryContext,
  DeliveryError,
  type DeliveryOutcome,
  type DeliveryTarget,
  type DiscoveredEnvironment,
  type RestartOutcome,
  type TargetFactory,
} from "@pullkeeper/core";
import { clientOptions } from "../../clients.js";
import { awsDeliveryError, awsErrorName } from "../shared/aws-errors.js";
import { ambientRegion, isEcrRegistry, newReadersNote, parseConsumerTarget, perRegion } from "../shared/common.js";
import { imageOnHost, isEcrHost, parseImageReference } from "../shared/image-host.js";
import { checkRoleSecretAccess } from "../shared/principal-access.js";
import { type AwsLocation, describeRegistrySecret, parseArn, secretReferenceFault } from "../shared/secret.js";
import { WiringCode, WiringError, type WiringFault } from "../shared/wiring.js";
import { discoverTasks, familyClusters } from "./environments.js";
import { ECS_NOT_FOUND } from "./errors.js";
import { rollTaskService } from "./restart.js";
import { type EcsTaskDefinitionTargetConfig, ecsTaskDefinitionTargetSchema } from "./schema.js";

export interface EcsTaskDefinitionTargetOptions {
  /** Client factories, so tests and other endpoints can be swapped in; defaults build real clients (one per region, on first use). */
  readonly ecs?: (region: string) => ECSClient;
  readonly iam?: (region: string) => IAMClient;
  readonly secretsManager?: (region: string) => SecretsManagerClient;
  /**
   * The secret (ARN or name) of a registry, so discovery looks for a consumer that names no
   * region where delivery does: in its secret's region. Without it, the deployment's region.
   */
  readonly registrySecret?: (registryId: string) => string | undefined;
}

/** The code of a delivery whose wiring is right but whose opted-in service roll failed for one service or more. */
export const ROLL_FAILED = "roll_failed";

type RollResult = { readonly service: string; readonly ok: true; readonly runs: string | undefined } | { readonly service: string; readonly ok: false; readonly error: DeliveryError };

/**
 * `ecs-task-definition`: ECS reads the registry's secret itself when a task starts (with the task
 * execution role), so delivering = the secret is current (done upstream) + the family's latest
 * ACTIVE revision is wired to it. This checks that wiring and reports every fault precisely.
 * Opted in per consumer (`rollServices`), it forces a new deployment of the listed services so
 * running tasks are replaced and pick up the new value.
 */
export class EcsTaskDefinitionTarget implements DeliveryTarget {
  readonly kind = "ecs-task-definition";
  readonly schema = ecsTaskDefinitionTargetSchema;
  readonly #ecs: (region: string) => ECSClient;
  readonly #iam: (region: string) => IAMClient;
  readonly #secretsManager: (region: string) => SecretsManagerClient;
  readonly #registrySecret: (registryId: string) => string | undefined;

  constructor(options: EcsTaskDefinitionTargetOptions = {}) {
    this.#ecs = options.ecs ?? perRegion((region) => new ECSClient(clientOptions(region)));
    this.#iam = options.iam ?? perRegion((region) => new IAMClient(clientOptions(region)));
    this.#secretsManager = options.secretsManager ?? perRegion((region) => new SecretsManagerClient(clientOptions(region)));
    this.#registrySecret = options.registrySecret ?? (() => undefined);
  }

  /**
   * `aws:ecs:<region>`. The registry's secret is not known here, so a consumer that names no
   * region counts against the deployment's own region.
   */
  provider(consumer: Consumer): string {
    const parsed = this.schema.safeParse(consumer.target);
    return `aws:ecs:${(parsed.success ? parsed.data.region : undefined) ?? ambientRegion()}`;
  }

  async deliver(context: DeliveryContext): Promise<DeliveryOutcome> {
    const target: EcsTaskDefinitionTargetConfig = parseConsumerTarget(this.schema, context.consumer);
    const { registry } = context;
    if (isEcrRegistry(registry)) {
      throw new WiringError(`ECS task definition family ${target.family}`, [
        {
          code: WiringCode.ecrImage,
          message:
            `registry ${registry.id} is Amazon ECR (${registry.host}): ECS pulls ECR images through IAM, with the task execution role ` +
            `(ecr:GetAuthorizationToken, ecr:BatchGetImage, ecr:GetDownloadUrlForLayer), never with repositoryCredentials; ` +
            `remove this consumer and grant the execution role pull access to the repository instead`,
        },
      ]);
    }
    const region = target.region ?? (parseArn(context.secretArn)?.region || undefined) ?? ambientRegion();
    const ecs = this.#ecs(region);
    const [secret, taskDefinition] = await Promise.all([describeRegistrySecret(this.#secretsManager, context.secretArn, region), this.#taskDefinition(ecs, target.family, region)]);

    const arn = parseArn(taskDefinition.taskDefinitionArn ?? "");
    const location: AwsLocation = { region: arn?.region || region, account: arn?.account ?? secret.account };
    const name = `${taskDefinition.family ?? target.family}:${taskDefinition.revision ?? "?"}`;
    const subject = `ECS task definition ${name} (${location.region}, account ${location.account})`;

    const containers = taskDefinition.containerDefinitions ?? [];
    const onHost = containers.filter((c) => c.image !== undefined && imageOnHost(c.image, registry.host));
    if (onHost.length === 0) {
      const images = containers.map((c) => `${c.name ?? "?"}: ${c.image ?? "(no image)"}`).join(", ") || "none";
      const ecr = containers.some((c) => c.image !== undefined && isEcrHost(parseImageReference(c.image).host));
      throw new WiringError(subject, [
        {
          code: WiringCode.noContainer,
          message: `no container pulls from registry ${registry.id}'s host ${registry.host} (containers: ${images})${ecr ? "; ECR images are pulled through IAM and never use this credential" : ""}`,
        },
      ]);
    }

    const faults: WiringFault[] = [];
    for (const c of onHost) {
      const fault = secretReferenceFault(c.repositoryCredentials?.credentialsParameter, secret, location);
      if (fault !== undefined) faults.push({ code: WiringCode.secretReference, message: `container "${c.name ?? "?"}" (${c.image ?? ""}) repositoryCredentials.credentialsParameter ${fault}` });
    }
    let notes: readonly string[] = [];
    const roleArn = taskDefinition.executionRoleArn;
    if (roleArn === undefined || roleArn === "") {
      faults.push({ code: WiringCode.noExecutionRole, message: "has no executionRoleArn; ECS reads repositoryCredentials with the task execution role, which must be allowed secretsmanager:GetSecretValue on the secret" });
    } else {
      const access = await checkRoleSecretAccess(this.#iam(region), { roleArn, roleLabel: "execution role", secret });
      if (access.missingRole) faults.push({ code: WiringCode.noExecutionRole, message: `execution role ${roleArn} does not exist` });
      faults.push(...access.faults);
      notes = access.notes;
    }
    // A broken wiring is never rolled out: new tasks would fail to pull.
    if (faults.length > 0) throw new WiringError(subject, faults, target.rollServices?.length ? "No service was rolled" : undefined);

    const wired = `containers ${onHost.map((c) => `"${c.name ?? "?"}" (${c.image ?? ""})`).join(", ")} take their repositoryCredentials from ${secret.arn}`;
    const readers = newReadersNote("tasks", context.versionId, secret.currentVersionId);
    const rolls = target.rollServices ?? [];
    if (rolls.length === 0) {
      return { status: "verified", detail: `${subject}: ${[wired, ...notes, `${readers}; running tasks keep the value they started with until they are replaced`].join("; ")}` };
    }

    const results = await this.#roll(ecs, rolls, taskDefinition);
    const failed = results.filter((r): r is Extract<RollResult, { ok: false }> => !r.ok);
    const rolled = results.filter((r): r is Extract<RollResult, { ok: true }> => r.ok);
    const rolledText = rolled.map((r) => `${r.service}${r.runs === undefined ? "" : ` (runs ${r.runs})`}`).join(", ");
    if (failed.length > 0) {
      const message =
        `${subject} is wired correctly, but forcing a new deployment failed for ${failed.length} of ${results.length} service(s): ` +
        failed.map((f) => `${f.service}: [${f.error.code}] ${f.error.message}`).join("; ") +
        (rolled.length > 0 ? `; rolled: ${rolledText}` : "");
      throw new DeliveryError(ROLL_FAILED, message, { retryable: failed.some((f) => f.error.retryable) });
    }
    const family = taskDefinition.family ?? target.family;
    const elsewhere = rolled.filter((r) => r.runs !== undefined && r.runs !== name);
    const warning =
      elsewhere.length > 0
        ? `; note: ${elsewhere.map((r) => `${r.service} runs ${r.runs}`).join(", ")}, not the checked ${name}${elsewhere.some((r) => !r.runs?.startsWith(`${family}:`)) ? " (another family)" : ""}, whose wiring was not checked`
        : "";
    return {
      status: "verified",
      detail: `${subject}: ${[wired, ...notes, readers].join("; ")}; forced a new deployment of ${rolledText}, so their running tasks are replaced and pick up the new value${warning}`,
    };
  }

  /** The family's running tasks, in the clusters of its rollServices or else in every cluster of its region. */
  async discoverEnvironments(consumer: Consumer): Promise<readonly DiscoveredEnvironment[]> {
    const target: EcsTaskDefinitionTargetConfig = parseConsumerTarget(this.schema, consumer);
    const region = this.#region(consumer, target);
    const ecs = this.#ecs(region);
    return discoverTasks(ecs, target.family, await familyClusters(ecs, target, region), region);
  }

  /** Forces a new deployment of the task's service; a standalone task is refused (restart_unsupported). */
  async restartEnvironment(consumer: Consumer, environment: Pick<DiscoveredEnvironment, "externalId" | "kind" | "name">): Promise<RestartOutcome> {
    if (environment.kind !== "ecs-task") {
      throw new DeliveryError("invalid_request", `consumer ${consumer.id} runs ECS tasks; ${environment.kind} ${environment.name} is not one`, { retryable: false });
    }
    const target: EcsTaskDefinitionTargetConfig = parseConsumerTarget(this.schema, consumer);
    const region = parseArn(environment.externalId)?.region || this.#region(consumer, target);
    const ecs = this.#ecs(region);
    return rollTaskService(ecs, environment.externalId, target.family, region, () => familyClusters(ecs, target, region));
  }

  /** Where deliver looks: the consumer's region, else its secret's, else the deployment's. */
  #region(consumer: Consumer, target: EcsTaskDefinitionTargetConfig): string {
    return target.region ?? (parseArn(this.#registrySecret(consumer.registryId) ?? "")?.region || undefined) ?? ambientRegion();
  }

  async #taskDefinition(ecs: ECSClient, family: string, region: string): Promise<TaskDefinition> {
    let out;
    try {
      out = await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: family }));
    } catch (error) {
      // ECS answers an unknown family with ClientException "Unable to describe task definition."
      if (awsErrorName(error) === "ClientException" && /unable to describe task definition|not found|does not exist/i.test((error as Error).message ?? "")) {
        throw new DeliveryError("not_found", `ECS task definition family ${family} has no ACTIVE revision in ${region}`, { retryable: false, cause: error });
      }
      throw awsDeliveryError(error, `reading ECS task definition family ${family} in ${region} (ecs:DescribeTaskDefinition)`);
    }
    if (out.taskDefinition === undefined) throw new DeliveryError("not_found", `ECS task definition family ${family} has no ACTIVE revision in ${region}`, { retryable: false });
    return out.taskDefinition;
  }

  /** One UpdateService --force-new-deployment per listed service; every one is tried, failures are collected. */
  async #roll(ecs: ECSClient, services: NonNullable<EcsTaskDefinitionTargetConfig["rollServices"]>, taskDefinition: TaskDefinition): Promise<RollResult[]> {
    const results: RollResult[] = [];
    for (const { cluster, service } of services) {
      const label = `${cluster}/${service}`;
      try {
        const out = await ecs.send(new UpdateServiceCommand({ cluster, service, forceNewDeployment: true }));
        const runs = out.service?.taskDefinition;
        results.push({ service: label, ok: true, runs: runs === undefined ? undefined : shortTaskDefinition(runs) });
      } catch (error) {
        const name = awsErrorName(error);
        const classified = ECS_NOT_FOUND.has(name)
          ? new DeliveryError("not_found", `${name}: ${(error as Error).message ?? ""}`, { retryable: false, cause: error })
          : awsDeliveryError(error, `ecs:UpdateService --force-new-deployment for ${label} (using ${taskDefinition.family ?? "?"})`);
        results.push({ service: label, ok: false, error: classified });
      }
    }
    return results;
  }
}

/** "arn:aws:ecs:…:task-definition/web:42" → "web:42". */
function shortTaskDefinition(arn: string): string {
  const slash = arn.lastIndexOf("/");
  return slash >= 0 ? arn.slice(slash + 1) : arn;
}

/** What the module loads (module.ts): clients are built per region on first use. */
const createTarget: TargetFactory = ({ registrySecret }) => new EcsTaskDefinitionTarget(registrySecret ? { registrySecret } : {});
export default createTarget;
