import type { Consumer, DeliveryTarget, LedgerRepair, PullkeeperConfig, RotatedRegistry, RotationResult, RotationService } from "@pullkeeper/core";
import { isRotated, sourceCapabilities } from "@pullkeeper/core";
import type { DynamoLedger } from "@pullkeeper/aws";
import { parseSchedule } from "@pullkeeper/core";
import { Scheduler } from "./scheduler/scheduler.js";

/** The jobs one config's schedules run, each through its function's handler. */
export interface ScheduledJobs {
  readonly reconcile: () => Promise<void>;
  readonly refresh: () => Promise<void>;
  readonly rotate: (registry: RotatedRegistry) => Promise<RotationResult>;
  readonly auditScan: () => Promise<void>;
  readonly revoke: () => Promise<void>;
}

export interface ScheduleContext {
  readonly config: PullkeeperConfig;
  readonly consumers: readonly Consumer[];
  readonly targets: ReadonlyMap<string, DeliveryTarget>;
  readonly rotation: Pick<RotationService, "unfinishedToken">;
  readonly repair: Pick<LedgerRepair, "repair">;
  readonly ledger: Pick<DynamoLedger, "registryState">;
  readonly log: (line: string) => void;
  /** The runtime's start: the schedules also run at once (a reload's do not). */
  readonly first: boolean;
}

/** The scheduler of one config: EventBridge's schedules, as the stacks declare them, run in this process. */
export function scheduleJobs(context: ScheduleContext, jobs: ScheduledJobs): Scheduler {
  const { config, consumers, targets, rotation, repair, ledger, log } = context;
  const scheduler = new Scheduler({ log });
  const atStart = { runAtStart: context.first };
  if (consumers.length > 0) {
    // Also at start: a crash may have swallowed the event (or the queued deliveries) of a rotation.
    scheduler.add("reconcile", config.settings.reconcileSchedule, jobs.reconcile, atStart);
  }
  const minted = config.registries.filter((r) => sourceCapabilities(r).mints);
  if (minted.length > 0) {
    scheduler.add("refresh", config.settings.refreshSchedule, jobs.refresh, atStart);
  }
  // A restart must not rotate: only an unfinished rotation, a first one, or one the schedule says is overdue.
  const rotationDue = async (registry: RotatedRegistry): Promise<boolean> => {
    if ((await rotation.unfinishedToken(registry)) !== undefined) return true;
    // A crash after the vault promoted and before the ledger knew: record and announce it first.
    if ((await repair.repair(registry)) === "repaired") log(`registry ${registry.id}: recorded the current version a crash had left out of the ledger`);
    const current = (await ledger.registryState(registry.id))?.current;
    return current === undefined || parseSchedule(registry.source.rotation).next(current.createdAt) <= new Date();
  };
  for (const registry of config.registries.filter(isRotated)) {
    scheduler.add(`rotate:${registry.id}`, registry.source.rotation, async () => {
      if (!(await rotationDue(registry))) return;
      const result = await jobs.rotate(registry);
      log(`registry ${registry.id}: rotated to version ${result.versionId}${result.resumed ? " (finished an interrupted rotation)" : ""}`);
    }, atStart);
  }
  // The audit: discovery through each target. No undeclared-consumer search here: that looks through AWS accounts.
  if (consumers.some((c) => targets.get(c.target.kind)?.discoverEnvironments)) {
    scheduler.add("audit", config.settings.auditSchedule, jobs.auditScan, atStart);
  }
  // Also at start: a crash between a promotion and its revocation is picked up here.
  if (config.registries.some(isRotated)) scheduler.add("revoke", config.settings.revokeSchedule, jobs.revoke, atStart);
  return scheduler;
}
