import { readCheckedConfigFile } from "@pullkeeper/aws/lambda";
import { type Consumer, type DeliveryTarget, htpasswdSourceOf, type PullkeeperConfig, type Registry, scheduleIssues } from "@pullkeeper/core";
import { dirname, resolve } from "node:path";

/** Reading the config file for the runtime, and what differs between the running config and the next. */

/** Relative htpasswd paths in the config are relative to the config file, not to the shell. */
function anchored(config: PullkeeperConfig, configPath: string): PullkeeperConfig {
  const base = dirname(resolve(configPath));
  return {
    ...config,
    registries: config.registries.map((r) => {
      const htpasswd = htpasswdSourceOf(r);
      return htpasswd ? { ...r, source: { ...htpasswd, file: resolve(base, htpasswd.file) } } : r;
    }),
  };
}

/**
 * The config file, read and checked (the same check as `pullkeeper validate` and the deploy,
 * schedules' runs included):
 * the one place the start and every reload go through.
 */
export function loadConfig(configPath: string, targets: ReadonlyMap<string, DeliveryTarget>): { config: PullkeeperConfig; consumers: readonly Consumer[] } {
  const checked = readCheckedConfigFile(configPath, targets, scheduleIssues);
  return { config: anchored(checked.config, configPath), consumers: checked.consumers };
}

/** What a reload did: nothing (the file is bad, or says what is already running), or which consumers came, changed and went. */
export type ReloadOutcome =
  | { readonly applied: false; readonly reason: string }
  | {
      readonly applied: true;
      readonly added: readonly string[];
      readonly changed: readonly string[];
      readonly removed: readonly string[];
      /** The new file changes registries: they stay as they run until dev restarts. */
      readonly registriesKept: boolean;
    };

/** Which registries differ between two configs, in words; undefined when none does. */
export function registryChanges(before: readonly Registry[], after: readonly Registry[]): string | undefined {
  const was = new Map(before.map((r) => [r.id, JSON.stringify(r)]));
  const now = new Map(after.map((r) => [r.id, JSON.stringify(r)]));
  const changes = [
    ...[...now.keys()].filter((id) => !was.has(id)).map((id) => `${id} added`),
    ...[...was.keys()].filter((id) => !now.has(id)).map((id) => `${id} removed`),
    ...[...now].filter(([id, text]) => was.has(id) && was.get(id) !== text).map(([id]) => `${id} changed`),
  ];
  return changes.length > 0 ? changes.join(", ") : undefined;
}

/** Consumers new in `after`, gone from it, or delivered elsewhere now (another target or registry). */
export function consumerChanges(before: readonly Consumer[], after: readonly Consumer[]) {
  const where = (c: Consumer) => JSON.stringify([c.registryId, c.target]);
  const was = new Map(before.map((c) => [c.id, where(c)]));
  const now = new Set(after.map((c) => c.id));
  return {
    added: after.filter((c) => !was.has(c.id)).map((c) => c.id),
    changed: after.filter((c) => was.has(c.id) && was.get(c.id) !== where(c)).map((c) => c.id),
    removed: before.filter((c) => !now.has(c.id)).map((c) => c.id),
  };
}
