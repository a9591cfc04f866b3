import type { Registry, RegistrySource } from "./model/model.js";
import type { SourceAwsPermissions, SourceCapabilities, SourceModule, SourcePermission, SourcePermissionContext, SourceRuntime } from "./model/source-module.js";
import { acrTokenModule } from "./sources/acr-token/module.js";
import { dockerHubTokenModule } from "./sources/dockerhub-token/module.js";
import { ecrTokenModule } from "./sources/ecr-token/module.js";
import { garTokenModule } from "./sources/gar-token/module.js";
import { gitlabTokenModule } from "./sources/gitlab-token/module.js";
import { harborRobotModule } from "./sources/harbor-robot/module.js";
import { htpasswdModule } from "./sources/htpasswd/module.js";
import { jfrogTokenModule } from "./sources/jfrog-token/module.js";
import { managedSecretModule } from "./sources/managed-secret/module.js";
import { quayRobotModule } from "./sources/quay-robot/module.js";

/**
 * Every source type pullkeeper knows, one line each (docs/adding-a-source.md): the config's
 * `source` union, the list its error names (in this order), the capabilities the services branch
 * on and the stacks' source permissions all derive from it.
 */
export const SOURCE_MODULES: readonly SourceModule[] = [
  ecrTokenModule,
  garTokenModule,
  managedSecretModule,
  htpasswdModule,
  dockerHubTokenModule,
  gitlabTokenModule,
  jfrogTokenModule,
  harborRobotModule,
  quayRobotModule,
  acrTokenModule,
];

/** The module of each source type, for lookups by a registry's `source.type`. */
export const SOURCE_MODULES_BY_TYPE: ReadonlyMap<string, SourceModule> = new Map(SOURCE_MODULES.map((m) => [m.type, m]));

/**
 * The source as the Registry model carries it, from what its schema parsed: the module's
 * `toSource` where it has one, else the parsed block without its unset keys.
 */
export function modelSource(parsed: RegistrySource): RegistrySource {
  const module = SOURCE_MODULES_BY_TYPE.get(parsed.type);
  return module?.toSource?.(parsed as never) ?? (Object.fromEntries(Object.entries(parsed).filter(([, value]) => value !== undefined)) as RegistrySource);
}

const NONE: SourceCapabilities = { mints: false, rotates: false, managedElsewhere: false, expires: false };

/** What pullkeeper does with this registry's credential: its source module's capabilities (none for a type no module registers). */
export function sourceCapabilities(registry: Pick<Registry, "source">): SourceCapabilities {
  return SOURCE_MODULES_BY_TYPE.get(registry.source.type)?.capabilities ?? NONE;
}

/**
 * What the sources ask of one function for these registries: each module's `awsPermissions[fn]`
 * with its own registries, in the registry's order of modules (the stacks add them to the
 * function's role).
 */
export function sourcePermissions(registries: readonly Registry[], fn: keyof SourceAwsPermissions, context: SourcePermissionContext): SourcePermission[] {
  return SOURCE_MODULES.flatMap((module) => {
    const own = registries.filter((r) => r.source.type === module.type);
    return own.length > 0 ? (module.awsPermissions?.[fn]?.(own, context) ?? []) : [];
  });
}

const runtimes = new Map<string, Promise<SourceRuntime | undefined>>();

/**
 * The runtime of the registry's source (its module's `load()`, once per type and process), or
 * undefined for a source that issues and revokes nothing (managed-secret) or mints elsewhere.
 */
export function sourceRuntime(registry: Pick<Registry, "source">): Promise<SourceRuntime | undefined> {
  const { type } = registry.source;
  let loaded = runtimes.get(type);
  if (loaded === undefined) {
    const module = SOURCE_MODULES_BY_TYPE.get(type);
    loaded = module?.load ? module.load().then((m) => m.default) : Promise.resolve(undefined);
    // A failed import is not cached: the next call tries again.
    loaded.catch(() => runtimes.delete(type));
    runtimes.set(type, loaded);
  }
  return loaded;
}
