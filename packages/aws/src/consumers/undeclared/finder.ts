import type { Consumer, TrackedSecret, UndeclaredConsumer, UndeclaredConsumerSearch, UndeclaredResourceReference, UndeclaredResourceSearch } from "@pullkeeper/core";
import { parseArn } from "../shared/secret.js";
import { trackedSecretsReferenced } from "./secret-match.js";

export interface UndeclaredConsumerFinderOptions {
  /** Where to search (see undeclaredSearchRegions). */
  readonly regions: readonly string[];
  /**
   * Each kind's part of the search (the modules' loadUndeclaredSearch, see undeclaredSearches in
   * packages/aws/src/target-modules.ts), or how to load them on the first search.
   */
  readonly searches: readonly UndeclaredResourceSearch[] | (() => Promise<readonly UndeclaredResourceSearch[]>);
  /**
   * Where a secret given by name (not ARN) lives, and where a declared consumer that names no
   * region and whose secret is a name is looked for: the deployment's region. Default:
   * AWS_REGION / AWS_DEFAULT_REGION; with neither, a tracked name matches in every region.
   */
  readonly defaultRegion?: string;
}

/** Where a declared consumer's resource is: a name, and the region it resolves in (undefined: anywhere). */
interface Covered {
  readonly kind: string;
  readonly name: string;
  readonly region: string | undefined;
}

/**
 * Finds the caller's resources (CodeBuild projects, ECS task definitions: each kind's search) that
 * load a tracked secret but are not declared consumers: every rotation leaves them on the old
 * value. Only the caller's own account is searched (listing calls see no other); a resource in
 * another account shows up only where that account runs its own search. Any failed call fails
 * the search, with a classified error that names the call and the region.
 */
export class UndeclaredConsumerFinder implements UndeclaredConsumerSearch {
  readonly #regions: readonly string[];
  #searches: readonly UndeclaredResourceSearch[] | (() => Promise<readonly UndeclaredResourceSearch[]>);
  readonly #defaultRegion: string | undefined;

  constructor(options: UndeclaredConsumerFinderOptions) {
    this.#regions = [...new Set(options.regions)];
    this.#searches = options.searches;
    this.#defaultRegion = options.defaultRegion ?? (process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION || undefined);
  }

  async find(tracked: readonly TrackedSecret[], declared: readonly Consumer[]): Promise<UndeclaredConsumer[]> {
    if (tracked.length === 0) return [];
    if (typeof this.#searches === "function") this.#searches = await this.#searches();
    const searches = this.#searches;
    const covered = this.#covered(searches, tracked, declared);
    // A consumer names its resource by name (resolved in its region) or, for CodeBuild, by ARN.
    const isCovered = (kind: Covered["kind"], name: string, region: string, arn?: string) =>
      covered.some((c) => c.kind === kind && (c.name === arn || (c.name === name && (c.region === undefined || c.region === region))));

    const perRegionRefs = await Promise.all(
      this.#regions.map(async (region) => {
        const found = await Promise.all(searches.map((search) => search.references(region, (name) => isCovered(search.kind, name, region))));
        return found.flat();
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
  #covered(searches: readonly UndeclaredResourceSearch[], tracked: readonly TrackedSecret[], declared: readonly Consumer[]): Covered[] {
    const secretRegion = (registryId: string) => parseArn(tracked.find((t) => t.registryId === registryId)?.secret ?? "")?.region || undefined;
    return declared.flatMap((consumer) => {
      const search = searches.find((s) => s.kind === consumer.target.kind);
      const resource = search?.declared(consumer, secretRegion(consumer.registryId) ?? this.#defaultRegion);
      return search && resource ? [{ kind: search.kind, ...resource }] : [];
    });
  }
}

function undeclared(registryId: string, ref: UndeclaredResourceReference): UndeclaredConsumer {
  return { registryId, kind: ref.kind, resource: ref.resource, name: ref.name, region: ref.region, foundIn: ref.foundIn, secretReference: ref.reference };
}
