import type { DeliveryTarget } from "../packages/core/src/delivery.js";

/** `deliveryTargets` from packages/aws/src/lambda/propagation-runtime.ts (see delivery-targets.js). */
export declare function deliveryTargets(): Map<string, DeliveryTarget>;
