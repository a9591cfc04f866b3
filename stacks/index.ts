import { loadDeployConfig } from "./config";
import { refresh } from "./refresh";
import { storage } from "./storage";

/** Composes the stacks; called from `run()` in sst.config.ts. Returns the stack outputs. */
export function deploy() {
  // First, so a bad pullkeeper.yaml fails the deploy before anything is declared.
  const deployConfig = loadDeployConfig();
  const store = storage();
  const refreshFlow = refresh(deployConfig, store);
  return {
    table: store.table.name,
    bus: store.bus.name,
    fingerprintKeySecret: store.fingerprintKey.arn,
    refreshFunction: refreshFlow.function.name,
    refreshFailuresQueue: refreshFlow.failures.url,
  };
}
