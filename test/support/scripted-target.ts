import type { Consumer, DeliveryTarget, DiscoveredEnvironment } from "@pullkeeper/core";
import { z } from "zod";

/**
 * A provider whose running environments are whatever the test says: for testing the audit's own
 * logic (verdicts, ledger, API), not a provider's API, which each target's tests cover against fakes.
 */
export class ScriptedTarget implements DeliveryTarget {
  readonly kind = "scripted";
  readonly schema = z.object({ kind: z.string() });
  running = new Map<string, DiscoveredEnvironment[]>();
  failing = new Map<string, Error>();
  restarted: string[] = [];
  provider() {
    return "scripted";
  }
  async deliver() {
    return { status: "delivered" as const, detail: "" };
  }
  async discoverEnvironments(consumer: Consumer) {
    const failure = this.failing.get(consumer.id);
    if (failure) throw failure;
    return this.running.get(consumer.id) ?? [];
  }
  async restartEnvironment(_consumer: Consumer, environment: { externalId: string }) {
    this.restarted.push(environment.externalId);
    return { detail: `stopped ${environment.externalId}` };
  }
}

