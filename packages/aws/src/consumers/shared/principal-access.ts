import { type ContextEntry, type IAMClient, SimulatePrincipalPolicyCommand } from "@aws-sdk/client-iam";
import { awsDeliveryError, awsErrorName } from "./aws-errors.js";
import { parseArn, type RegistrySecret } from "./secret.js";
import { WiringCode, type WiringFault } from "./wiring.js";

export type SimulatedAccess =
  | { readonly allowed: true }
  | { readonly allowed: false; readonly reason: "explicitDeny" | "implicitDeny"; readonly missingContext: readonly string[] }
  | { readonly allowed: false; readonly reason: "no_such_principal" };

export interface AccessQuestion {
  /** The IAM role (or user) whose policies are evaluated. */
  readonly principalArn: string;
  readonly action: string;
  readonly resourceArn: string;
  /** Condition keys the real request would carry, so policies that test them evaluate as they would. */
  readonly context?: Readonly<Record<string, readonly string[]>>;
}

/**
 * Asks IAM (SimulatePrincipalPolicy) whether a principal may perform one action on one resource.
 * This evaluates the principal's identity policies, permissions boundary and organization SCPs;
 * resource policies (a secret's, a key's) are not part of it. A principal that does not exist is
 * an answer (`no_such_principal`), not an error; pullkeeper's own failures are DeliveryErrors.
 */
export async function simulatePrincipalAccess(iam: IAMClient, question: AccessQuestion): Promise<SimulatedAccess> {
  const context: ContextEntry[] = Object.entries(question.context ?? {}).map(([name, values]) => ({
    ContextKeyName: name,
    ContextKeyValues: [...values],
    ContextKeyType: values.length === 1 ? "string" : "stringList",
  }));
  let out;
  try {
    out = await iam.send(
      new SimulatePrincipalPolicyCommand({
        PolicySourceArn: question.principalArn,
        ActionNames: [question.action],
        ResourceArns: [question.resourceArn],
        ...(context.length > 0 && { ContextEntries: context }),
      }),
    );
  } catch (error) {
    const name = awsErrorName(error);
    if (name === "NoSuchEntityException" || name === "NoSuchEntity") return { allowed: false, reason: "no_such_principal" };
    throw awsDeliveryError(error, `simulating ${question.action} for ${question.principalArn} (iam:SimulatePrincipalPolicy)`);
  }
  const result = out.EvaluationResults?.find((r) => r.EvalActionName?.toLowerCase() === question.action.toLowerCase()) ?? out.EvaluationResults?.[0];
  const specific = result?.ResourceSpecificResults?.find((r) => r.EvalResourceName === question.resourceArn);
  const decision = specific?.EvalResourceDecision ?? result?.EvalDecision;
  if (decision === "allowed") return { allowed: true };
  return {
    allowed: false,
    reason: decision === "explicitDeny" ? "explicitDeny" : "implicitDeny",
    missingContext: [...(specific?.MissingContextValues ?? []), ...(result?.MissingContextValues ?? [])],
  };
}

export interface RoleSecretAccess {
  /** The role does not exist: the caller reports it with its own code. */
  readonly missingRole: boolean;
  readonly faults: readonly WiringFault[];
  /** What was checked, or could not be, in words for the delivery's detail. */
  readonly notes: readonly string[];
}

function dnsSuffix(partition: string): string {
  return partition === "aws-cn" ? "amazonaws.com.cn" : "amazonaws.com";
}

function denial(label: string, roleArn: string, action: string, resource: string, access: Extract<SimulatedAccess, { reason: "explicitDeny" | "implicitDeny" }>, resourcePolicyNote: string): string {
  const why = access.reason === "explicitDeny" ? "a statement explicitly denies it" : "no statement in the role's IAM policies allows it";
  const missing = access.missingContext.length > 0 ? `; conditions on ${access.missingContext.join(", ")} could not be evaluated` : "";
  return `${label} ${roleArn} may not ${action} on ${resource} (IAM policy simulation: ${access.reason}, ${why}${missing})${access.reason === "implicitDeny" ? resourcePolicyNote : ""}`;
}

/**
 * Whether the role CodeBuild or ECS uses to pull may read the registry's secret: GetSecretValue
 * on the secret and, when a customer-managed KMS key encrypts it, kms:Decrypt on that key. The
 * simulation carries the condition keys the real calls do (secret ARN, resource tags, the KMS
 * encryption context and kms:ViaService), so policies narrowed by them evaluate correctly.
 */
export async function checkRoleSecretAccess(iam: IAMClient, options: { readonly roleArn: string; readonly roleLabel: string; readonly secret: RegistrySecret }): Promise<RoleSecretAccess> {
  const { roleArn, roleLabel, secret } = options;
  const roleAccount = parseArn(roleArn)?.account;
  const crossAccount = roleAccount !== undefined && roleAccount !== secret.account;
  const faults: WiringFault[] = [];
  const notes: string[] = [];
  const tagContext: Record<string, string[]> = {};
  for (const [key, value] of Object.entries(secret.tags)) {
    tagContext[`aws:ResourceTag/${key}`] = [value];
    tagContext[`secretsmanager:ResourceTag/${key}`] = [value];
  }

  const read = await simulatePrincipalAccess(iam, {
    principalArn: roleArn,
    action: "secretsmanager:GetSecretValue",
    resourceArn: secret.arn,
    context: { "secretsmanager:SecretId": [secret.arn], ...tagContext },
  });
  if (!read.allowed && read.reason === "no_such_principal") return { missingRole: true, faults, notes };
  if (read.allowed) notes.push(`${roleLabel} ${roleArn} may secretsmanager:GetSecretValue on the secret`);
  else {
    const note = crossAccount ? "" : " — unless the secret's own resource policy names the role, which the simulation does not read";
    faults.push({ code: WiringCode.roleCannotRead, message: denial(roleLabel, roleArn, "secretsmanager:GetSecretValue", secret.arn, read, note) });
  }

  if (secret.key.type === "customer") {
    const keyArn = secret.key.keyArn;
    const decrypt = await simulatePrincipalAccess(iam, {
      principalArn: roleArn,
      action: "kms:Decrypt",
      resourceArn: keyArn,
      context: {
        "kms:ViaService": [`secretsmanager.${secret.region}.${dnsSuffix(secret.partition)}`],
        "kms:EncryptionContext:SecretARN": [secret.arn],
        "kms:EncryptionContextKeys": ["SecretARN", "SecretVersionId"],
        ...(roleAccount !== undefined && { "kms:CallerAccount": [roleAccount] }),
      },
    });
    if (decrypt.allowed) notes.push(`it may kms:Decrypt with the secret's customer-managed key ${keyArn}`);
    else if (decrypt.reason === "no_such_principal") return { missingRole: true, faults, notes };
    else {
      const note = crossAccount ? "" : " — unless the key policy names the role directly, which the simulation does not read";
      faults.push({ code: WiringCode.roleCannotDecrypt, message: denial(roleLabel, roleArn, "kms:Decrypt", keyArn, decrypt, note) });
    }
  } else if (secret.key.type === "aws-managed" && crossAccount) {
    // The AWS managed key's policy cannot be changed, so no other account can decrypt with it.
    faults.push({
      code: WiringCode.roleCannotDecrypt,
      message:
        `${roleLabel} ${roleArn} (account ${roleAccount}) cannot decrypt ${secret.arn}: the secret is encrypted with the AWS managed key aws/secretsmanager, ` +
        `which no other account may use; encrypt it with a customer-managed KMS key whose key policy allows the role kms:Decrypt`,
    });
  } else if (secret.key.type === "alias") {
    notes.push(`kms:Decrypt not checked: the secret names its customer-managed key by alias (${secret.key.alias}), so the key ARN to simulate is unknown; the role needs kms:Decrypt on that key`);
  }
  if (crossAccount) {
    notes.push(`the secret is in account ${secret.account}: its resource policy${secret.key.type === "aws-managed" ? "" : " and its key policy"} must also allow the role (not checked here)`);
  }
  return { missingRole: false, faults, notes };
}
