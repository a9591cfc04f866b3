import type { DeliveryTarget } from "@pullkeeper/core";
import { TARGET_MODULES } from "../target-modules.js";

/**
 * Every consumer kind's config schema, without the targets' clients: what the planners
 * (on-secret-change, reconcile) need to validate consumers, at a fraction of the worker's bundle.
 * A test checks it names the same kinds and schemas as deliveryTargets().
 */
export const CONSUMER_SCHEMAS: ReadonlyMap<string, Pick<DeliveryTarget, "schema">> = new Map(TARGET_MODULES.map((m) => [m.kind, { schema: m.schema }]));
