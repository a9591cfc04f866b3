import { api } from "./api";
import { apiPrincipals } from "./api-access";
import { audit } from "./audit";
import { loadDeployConfig } from "./config";
import { validateConsumers } from "./consumers";
import { propagation } from "./propagation";
import { refresh } from "./refresh";
import { rotation } from "./rotation";
import { rotationPlan } from "./rotation-permissions";
import { storage } from "./storage";

/** Composes the stacks; called from `run()` in sst.config.ts. Returns the stack outputs. */
export function deploy() {
  // First, so a bad pullkeeper.yaml (checked as `pullkeeper validate` checks it, consumer targets
  // included), a registry that cannot run or be rotated on AWS, or a leftover
  // PULLKEEPER_AUDIT_READERS / PULLKEEPER_AUDIT_OPERATORS, fails the deploy before anything is declared.
  const deployConfig = loadDeployConfig();
  validateConsumers(deployConfig);
  const rotated = rotationPlan(deployConfig.config, deployConfig.relativeFile, deployConfig.text);
  const principals = apiPrincipals(deployConfig.config, process.env, deployConfig.relativeFile);
  const store = storage();
  const refreshFlow = refresh(deployConfig, store);
  const propagationFlow = propagation(deployConfig, store);
  const auditFlow = audit(deployConfig, store);
  // Only with registries to rotate on AWS (htpasswd files, provider tokens and robots).
  const rotationFlow = rotated && rotation(deployConfig, store, rotated);
  const auditApi = api(
    deployConfig,
    store,
    {
      refresh: refreshFlow.function,
      auditScan: auditFlow.function,
      deliveries: propagationFlow.deliveries,
      ...(rotated && rotationFlow && { rotation: { plan: rotated, rotate: rotationFlow.rotate, revoke: rotationFlow.revoke } }),
    },
    principals,
  );
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
    auditScanFunction: auditFlow.function.name,
    auditFailuresQueue: auditFlow.failures.url,
    expiredEnvironmentsAlarm: auditFlow.alarms.expired.name,
    earliestExpiryAlarm: auditFlow.alarms.earliestExpiry.name,
    discoveryFailuresAlarm: auditFlow.alarms.discoveryFailures.name,
    auditFailuresAlarm: auditFlow.alarms.failures.name,
    apiUrl: auditApi.http.url,
    apiFunction: auditApi.function.name,
    auditReaderRole: auditApi.roles.reader.arn,
    auditOperatorRole: auditApi.roles.operator.arn,
    ...(rotationFlow && {
      rotateFunction: rotationFlow.rotate.name,
      revokeFunction: rotationFlow.revoke.name,
      revokeFailuresQueue: rotationFlow.failures.url,
      rotationErrorsAlarm: rotationFlow.alarms.rotationErrors.name,
      revokeFailuresAlarm: rotationFlow.alarms.revokeFailures.name,
    }),
  };
}
