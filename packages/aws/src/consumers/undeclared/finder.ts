import { CodeBuildClient } from "@aws-sdk/client-codebuild";
import { ECSClient } from "@aws-sdk/client-ecs";
import type { Consumer, TrackedSecret, UndeclaredConsumer, UndeclaredConsumerSearch } from "@pullkeeper/core";
import { clientOptions } from "../../clients.js";
import { codeBuildProjectArnRegion, codeBuildProjectTargetSchema } from "../codebuild/schema.js";
import { ecsTaskDefinitionTargetSchema } from "../ecs/schema.js";
import { perRegion } from "../shared/common.js";
import { parseArn } from "../shared/secret.js";
import { codeBuildReferences } from "./codebuild-projects.js";
import { DESCRIBE_TASK_DEFINITION_CONCURRENCY, ecsReferences } from "./ecs-task-definitions.js";
import type { SecretReference } from "./references.js";
import { trackedSecretsReferenced } from "./secret-match.js";

export interface UndeclaredConsumerFinderOptions {
  /** Where to search (see undeclaredSearchRegions). */
  readonly regions: readonly string[];
  /** Client factories, so tests and other endpoints can be swapped in; defaults build real clients (one per region, on first use). */
  readonly codeBuild?: (region: string) => CodeBuildClient;
  readonly ecs?: (region: string) => ECSClient;
  /**
   * Where a secret given by name (not ARN) lives, and where a declared consumer that names no
   * region and whose secret is a name is looked for: the deployment's region. Default:
   * AWS_REGION / AWS_DEFAULT_REGION; with neither, a tracked name matches in every region.
   */
  readonly defaultRegion?: string;
  /** DescribeTaskDefinition calls in flight per region (default 4). */
  readonly describeConcurrency?: number;
}

/** Where a declared consumer's resource is: a name, and the region it resolves in (undefined: anywhere). */
interface Covered {
  readonly kind: UndeclaredConsumer["kind"];
  readonly name: string;
  readonly region: string | undefined;
}

/**
 * Finds the caller's CodeBuild projects and ECS task definitions that load a tracked secret but
 * are not declared consumers: every rotation leaves them on the old value. Only the caller's
 * own account is searched (listing calls see no other); a resource in another account shows up
 * only where that account runs its own search. Any failed call fails the search, with a
 * classified error that names the call and the region.
 */
export class UndeclaredConsumerFinder implements UndeclaredConsumerSearch {
  readonly #regions: readonly string[];
  readonly #codeBuild: (region: string) => CodeBuildClient;
  readonly #ecs: (region: string) => ECSClient;
  readonly #defaultRegion: string | undefined;
  readonly #concurrency: number;

  constructor(options: UndeclaredConsumerFinderOptions) {
    this.#regions = [...new Set(options.regions)];
    this.#codeBuild = options.codeBuild ?? perRegion((region) => new CodeBuildClient(clientOptions(region)));
    this.#ecs = options.ecs ?? perRegion((region) => new ECSClient(clientOptions(region)));
    this.#defaultRegion = options.defaultRegion ?? (process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION || undefined);
    this.#concurrency = options.describeConcurrency ?? DESCRIBE_TASK_DEFINITION_CONCURRENCY;
  }

  async find(tracked: readonly TrackedSecret[], declared: readonly Consumer[]): Promise<UndeclaredConsumer[]> {
    if (tracked.length === 0) return [];
    const covered = this.#covered(tracked, declared);
    // A consumer names its resource by name (resolved in its region) or, for CodeBuild, by ARN.
    const isCovered = (kind: Covered["kind"], name: string, region: string, arn?: string) =>
      covered.some((c) => c.kind === kind && (c.name === arn || (c.name === name && (c.region === undefined || c.region === region))));

    const perRegionRefs = await Promise.all(
      this.#regions.map(async (region) => {
        const [projects, taskDefinitions] = await Promise.all([
          codeBuildReferences(this.#codeBuild(region), region),
          ecsReferences(this.#ecs(region), region, (family) => isCovered("ecs-task-definition", family, region), this.#concurrency),
        ]);
        return [...projects, ...taskDefinitions];
      }),
    );

    const found = new Map<string, { consumer: UndeclaredConsumer; foundIn: Set<string>; references: Set<string> }>();
    for (const ref of perRegionRefs.flat()) {
      if (isCovered(ref.kind, ref.name, ref.region, ref.resource)) continue;
      for (const secret of trackedSecretsReferenced(ref.reference, ref, tracked, this.#defaultRegion)) {
        const key = `${secret.registryId}\n${ref.resource}`;
        const entry = found.get(key) ?? { consumer: undeclared(secret.registryId, ref), foundIn: new Set<string>(), references: new Set<string>() };
        entry.foundIn.add(ref.foundIn);
        entry.references.add(ref.reference);
        found.set(key, entry);
      }
    }
    // One entry per registry and resource (the ledger's key); several containers of one task definition are listed together.
    return [...found.values()]
      .map(({ consumer, foundIn, references }) => ({ ...consumer, foundIn: [...foundIn].join(", "), secretReference: [...references].join(", ") }))
      .sort((a, b) => a.registryId.localeCompare(b.registryId) || a.resource.localeCompare(b.resource));
  }

  /**
   * The resources declared consumers account for, in the region their delivery resolves: the
   * consumer's own, else its project ARN's, else its secret's, else the deployment's.
   */
  #covered(tracked: readonly TrackedSecret[], declared: readonly Consumer[]): Covered[] {
    const secretRegion = (registryId: string) => parseArn(tracked.find((t) => t.registryId === registryId)?.secret ?? "")?.region || undefined;
    const covered: Covered[] = [];
    for (const consumer of declared) {
      const codeBuild = codeBuildProjectTargetSchema.safeParse(consumer.target);
      if (codeBuild.success) {
        const { project, region } = codeBuild.data;
        covered.push({ kind: "codebuild-project", name: project, region: region ?? codeBuildProjectArnRegion(project) ?? secretRegion(consumer.registryId) ?? this.#defaultRegion });
        continue;
      }
      const ecs = ecsTaskDefinitionTargetSchema.safeParse(consumer.target);
      if (ecs.success) covered.push({ kind: "ecs-task-definition", name: ecs.data.family, region: ecs.data.region ?? secretRegion(consumer.registryId) ?? this.#defaultRegion });
    }
    return covered;
  }
}

function undeclared(registryId: string, ref: SecretReference): UndeclaredConsumer {
  return { registryId, kind: ref.kind, resource: ref.resource, name: ref.name, region: ref.region, foundIn: ref.foundIn, secretReference: ref.reference };
}
