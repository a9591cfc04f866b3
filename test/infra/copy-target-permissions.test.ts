import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../packages/core/src/config/config.js";
import { kindStatements, type PropagationPermissionContext, propagationPermissions } from "../../stacks/propagation-permissions.js";
import { expectLeastPrivilege } from "./iam-invariants";

/**
 * The IAM of the two secret-copying kinds comes out of their modules' permissions through
 * stacks/propagation-permissions.ts, with no edit of the stacks: exactly the named secrets
 * (a name: its `-??????` ARN), never `*` on Secrets Manager.
 */
const ctx: PropagationPermissionContext = {
  partition: "aws",
  region: "eu-west-1",
  account: "123456789012",
  tableArn: "arn:aws:dynamodb:eu-west-1:123456789012:table/pullkeeper-prod-LedgerTable-abcdefgh",
  busArn: "arn:aws:events:eu-west-1:123456789012:event-bus/pullkeeper-prod-EventsBus-abcdefgh",
  fingerprintKeySecretArn: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:pullkeeper/prod/fingerprint-key-Zx9Yw8",
  deliveryQueueArn: "arn:aws:sqs:eu-west-1:123456789012:pullkeeper-prod-DeliveriesQueue-abcdefgh",
  failuresQueueArn: "arn:aws:sqs:eu-west-1:123456789012:pullkeeper-prod-PropagationFailuresQueue-abcdefgh",
};

const WRITE = ["secretsmanager:PutSecretValue", "secretsmanager:GetSecretValue", "secretsmanager:UpdateSecretVersionStage"];
const example = readFileSync(new URL("../../examples/pull-through-cache.yaml", import.meta.url), "utf8");
const withCopies = `${example}
  - id: ci-copy
    registry: dockerhub
    target: { kind: secrets-manager-copy, secretId: ci/dockerhub, region: us-west-2, keys: { username: user, password: token, registry: server } }
  - id: partner-copy
    registry: dockerhub
    target: { kind: secrets-manager-copy, secretId: "arn:aws:secretsmanager:eu-central-1:210987654321:secret:shared/dockerhub-Ab12Cd", roleArn: "arn:aws:iam::210987654321:role/pullkeeper-writer" }
`;

describe("the copy targets' IAM, derived through the stacks", () => {
  it("grants the example's two pull-through secrets, CreateSecret where asked, and ValidatePullThroughCacheRule per region", () => {
    const statements = kindStatements(parseConfig(example, "pull-through-cache.yaml"), ctx, (p) => p.deliver);
    expect(statements).toEqual([
      {
        actions: WRITE,
        resources: [
          "arn:aws:secretsmanager:us-east-1:123456789012:secret:ecr-pullthroughcache/docker-hub-??????",
          "arn:aws:secretsmanager:eu-west-1:123456789012:secret:ecr-pullthroughcache/docker-hub-??????",
        ],
      },
      { actions: ["secretsmanager:CreateSecret"], resources: ["arn:aws:secretsmanager:us-east-1:123456789012:secret:ecr-pullthroughcache/docker-hub-??????"] },
      { actions: ["ecr:ValidatePullThroughCacheRule"], resources: ["arn:aws:ecr:us-east-1:123456789012:registry/123456789012", "arn:aws:ecr:eu-west-1:123456789012:registry/123456789012"] },
    ]);
  });

  it("adds a copy's secret, and only sts:AssumeRole for one written through a role; nothing on `*` for Secrets Manager", () => {
    const deliver = propagationPermissions(parseConfig(withCopies, "copies.yaml"), ctx).deliver;
    expect(deliver).toContainEqual({ actions: WRITE, resources: ["arn:aws:secretsmanager:us-west-2:123456789012:secret:ci/dockerhub-??????"] });
    expect(deliver).toContainEqual({ actions: ["sts:AssumeRole"], resources: ["arn:aws:iam::210987654321:role/pullkeeper-writer"] });
    // The partner's secret is written by the assumed role, never granted to pullkeeper's own.
    expect(JSON.stringify(deliver)).not.toContain("shared/dockerhub");
    for (const s of deliver.filter((s) => s.actions.some((a) => a.startsWith("secretsmanager:")))) {
      for (const r of s.resources) {
        expect(r, `${s.actions.join(",")}`).not.toBe("*");
        expect(r.replace(/-\?{6}$/, ""), `${s.actions.join(",")} on ${r}`).not.toMatch(/[*?]/);
      }
    }
    expectLeastPrivilege(deliver);
  });

  it("fails the deploy for a pull-through rule in another account, saying why", () => {
    const other = example.replace("region: eu-west-1\n      secretId", 'region: eu-west-1\n      registryId: "210987654321"\n      secretId');
    expect(() => propagationPermissions(parseConfig(other, "other.yaml"), ctx)).toThrow(/rule's account and region/);
  });
});
