import { TARGET_MODULES_BY_KIND } from "../packages/aws/src/target-modules.js";
import { consumersFromConfig } from "../packages/core/src/model/consumers.js";
import type { Consumer } from "../packages/core/src/propagation/delivery.js";
import type { DeployConfig } from "./config";

/**
 * Validates every consumer's target with the delivery targets the functions register
 * (the target modules' schemas: the very objects the targets propagationFromEnvironment
 * registers validate with, without their clients), so a bad
 * consumer fails `sst deploy` with its path in the file
 * (`pullkeeper.yaml is not valid:\n  consumers[0].target.project: ...`) instead of failing
 * every delivery at 03:00. Nothing here uses SST globals.
 */
export function validateConsumers(deployConfig: Pick<DeployConfig, "config" | "relativeFile">): Consumer[] {
  return consumersFromConfig(deployConfig.config, TARGET_MODULES_BY_KIND, deployConfig.relativeFile);
}
