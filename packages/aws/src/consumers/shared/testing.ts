/**
 * Test support for the AWS delivery targets (imported by tests only): realistic DescribeSecret
 * and SimulatePrincipalPolicy answers, and a delivery context.
 */
import type { DescribeSecretCommandOutput } from "@aws-sdk/client-secrets-manager";
import type { SimulatePrincipalPolicyCommandInput, SimulatePrincipalPolicyCommandOutput } from "@aws-sdk/client-iam";
import { type Consumer, credential, type DeliveryContext, type Registry } from "@pullkeeper/core";

export const ACCOUNT = "123456789012";
export const OTHER_ACCOUNT = "210987654321";
/** The value that must never show up in an outcome or an error. */
export const PASSWORD = "dckr_pat_Zq8Vw3LmN5xTr7Yb1Kc9Hd2Fj4";
export const VERSION_ID = "EXAMPLE1-90ab-cdef-fedc-ba987SECRET1";

export function secretArn(region = "eu-west-1", account = ACCOUNT, name = "pullkeeper/dockerhub", suffix = "AbCdEf"): string {
  return `arn:aws:secretsmanager:${region}:${account}:secret:${name}-${suffix}`;
}

export const dockerHub: Registry = { id: "dockerhub", host: "docker.io", kind: "dockerhub", source: { type: "managed-secret" }, secret: "pullkeeper/dockerhub", verify: {} };

export function deliveryContext(consumer: Consumer, options: { registry?: Registry; secretArn?: string } = {}): DeliveryContext {
  return {
    consumer,
    registry: options.registry ?? dockerHub,
    secretArn: options.secretArn ?? secretArn(),
    versionId: VERSION_ID,
    credential: credential("acme-ci", PASSWORD),
  };
}

/** DescribeSecret as Secrets Manager answers it (no value, ever). */
export function describeSecretOutput(arn: string, options: { kmsKeyId?: string; current?: string } = {}): DescribeSecretCommandOutput {
  const name = arn.replace(/^.*:secret:/, "").replace(/-[A-Za-z0-9]{6}$/, "");
  return {
    $metadata: { httpStatusCode: 200, requestId: "b4e7c0a2-5c2f-4b47-9d0c-2f7e1f8a3d11", attempts: 1, totalRetryDelay: 0 },
    ARN: arn,
    Name: name,
    Description: "Docker Hub pull credential for CI, managed by pullkeeper",
    ...(options.kmsKeyId !== undefined && { KmsKeyId: options.kmsKeyId }),
    LastChangedDate: new Date("2026-03-02T09:14:07.123Z"),
    LastAccessedDate: new Date("2026-03-02T00:00:00Z"),
    Tags: [
      { Key: "team", Value: "platform" },
      { Key: "managed-by", Value: "pullkeeper" },
    ],
    VersionIdsToStages: { [options.current ?? VERSION_ID]: ["AWSCURRENT"], "EXAMPLE2-90ab-cdef-fedc-ba987SECRET2": ["AWSPREVIOUS"] },
    CreatedDate: new Date("2025-11-20T16:40:00.512Z"),
  };
}

export type Decision = "allowed" | "implicitDeny" | "explicitDeny";

/** A SimulatePrincipalPolicy fake: `decide` answers per action; the answer has the shape IAM returns. */
export function simulation(decide: (action: string, input: SimulatePrincipalPolicyCommandInput) => Decision): (input: SimulatePrincipalPolicyCommandInput) => SimulatePrincipalPolicyCommandOutput {
  return (input) => {
    const action = input.ActionNames?.[0] ?? "";
    const resource = input.ResourceArns?.[0] ?? "*";
    const decision = decide(action, input);
    const statements =
      decision === "implicitDeny"
        ? []
        : [{ SourcePolicyId: "pull-registry-secret", SourcePolicyType: "role" as const, StartPosition: { Line: 1, Column: 41 }, EndPosition: { Line: 1, Column: 212 } }];
    return {
      $metadata: { httpStatusCode: 200, requestId: "0d6c1f0e-6b8e-4f5e-9a57-4d1d5c1f2e3a", attempts: 1, totalRetryDelay: 0 },
      EvaluationResults: [
        {
          EvalActionName: action,
          EvalResourceName: resource,
          EvalDecision: decision,
          MatchedStatements: statements,
          MissingContextValues: [],
          EvalDecisionDetails: {},
          ResourceSpecificResults: [{ EvalResourceName: resource, EvalResourceDecision: decision, MatchedStatements: statements, MissingContextValues: [] }],
        },
      ],
      IsTruncated: false,
    };
  };
}

/** An AWS SDK service error as the SDK throws it. */
export function awsError(name: string, message: string, httpStatusCode = 400): Error {
  return Object.assign(new Error(message), { name, $fault: httpStatusCode >= 500 ? "server" : "client", $metadata: { httpStatusCode, requestId: "3f2a9c1e-0000-4000-8000-000000000000", attempts: 1, totalRetryDelay: 0 } });
}

/** What the engine would store or show of a failure or an outcome. */
export function visible(value: unknown): string {
  if (value instanceof Error) {
    const e = value as Error & { code?: string; faults?: unknown };
    return JSON.stringify({ code: e.code, message: e.message, faults: e.faults, name: e.name, stack: e.stack });
  }
  return JSON.stringify(value);
}
