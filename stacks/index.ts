import { loadDeployConfig } from "./config";
import { validateConsumers } from "./consumers";
import { propagation } from "./propagation";
import { refresh } from "./refresh";
import { storage } from "./storage";

/** Composes the stacks; called from `run()` in sst.config.ts. Returns the stack outputs. */
export function deploy() {
  // First, so a bad pullkeeper.yaml (or a bad consumer target) fails the deploy before anything is declared.
  const deployConfig = loadDeployConfig();
  validateConsumers(deployConfig);
  const store = storage();
  const refreshFlow = refresh(deployConfig, store);
  const propagationFlow = propagation(deployConfig, store);
  return {
    table: store.table.name,
    bus: store.bus.name,
    fingerprintKeySecret: store.fingerprintKey.arn,
    refreshFunction: refreshFlow.function.name,
    refreshFailuresQueue: refreshFlow.failures.url,
    onSecretChangeFunction: propagationFlow.onSecretChange.name,
    reconcileFunction: propagationFlow.reconcile.name,
    deliverFunction: propagationFlow.deliver.name,
    deliveryQueue: propagationFlow.deliveries.url,
    deliveryDeadLetterQueue: propagationFlow.deadLetters.url,
    propagationFailuresQueue: propagationFlow.failures.url,
    deliveryDeadLettersAlarm: propagationFlow.alarms.deadLetters.name,
    deliveryAgeAlarm: propagationFlow.alarms.deliveryAge.name,
    propagationFailuresAlarm: propagationFlow.alarms.failures.name,
  };
}
