import { describe, expect, it } from "vitest";
import { parseConfig } from "../../packages/core/src/config/config.js";
import type { PullkeeperConfig } from "../../packages/core/src/config/config-document.js";
import { SECRET_CHANGE_PATTERNS } from "../../packages/core/src/propagation/secret-change.js";
import {
  CREDENTIAL_ROTATED_PATTERN,
  DELIVER_TIMEOUT_SECONDS,
  DELIVERY_VISIBILITY_TIMEOUT_SECONDS,
  MAX_EVENT_PATTERN_CHARS,
  secretChangePattern,
  secretChangeRules,
  trackedSecrets,
} from "../../stacks/propagation-config.js";
import { matchesPattern } from "./event-pattern";

const here = { partition: "aws", region: "eu-west-1", account: "123456789012" };

const registry = (id: string, secret: string) => `
  - id: ${id}
    host: ${id}.example.com
    kind: generic
    source: { type: managed-secret }
    secret: "${secret}"`;
const consumer = (id: string, registryId: string) => `\n  - { id: ${id}, registry: ${registryId}, target: { kind: webhook } }`;
const config = (registries: string[], consumers: string[]) =>
  parseConfig(`registries:${registries.join("")}\nconsumers:${consumers.length > 0 ? consumers.join("") : " []"}\n`, "test.yaml");

const LOCAL_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:pullkeeper/hub-Dh4Ub7";
const REMOTE_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:pullkeeper/gitlab-Gl7Ab2";

describe("trackedSecrets", () => {
  it("keeps the secrets of registries with a consumer, each once, in config order", () => {
    const c = config(
      [registry("a", "pullkeeper/a"), registry("b", "pullkeeper/b"), registry("c", LOCAL_ARN), registry("d", "pullkeeper/a")],
      [consumer("x", "c"), consumer("y", "a"), consumer("z", "a"), consumer("w", "d")],
    );
    expect(trackedSecrets(c)).toEqual([
      { configured: "pullkeeper/a", path: "registries[0].secret", name: "pullkeeper/a" },
      {
        configured: LOCAL_ARN,
        path: "registries[2].secret",
        name: "pullkeeper/hub",
        arn: LOCAL_ARN,
        location: { partition: "aws", region: "eu-west-1", account: "123456789012" },
      },
    ]);
  });

  it("reads a partial ARN (no random suffix) as the secret's name and location", () => {
    const partial = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:pullkeeper/hub";
    expect(trackedSecrets(config([registry("a", partial)], [consumer("x", "a")]))).toEqual([{ configured: partial, path: "registries[0].secret", name: "pullkeeper/hub", location: here }]);
  });

  it("is empty without consumers, and then there is no rule", () => {
    const c = config([registry("a", "pullkeeper/a")], []);
    expect(trackedSecrets(c)).toEqual([]);
    expect(secretChangeRules(c)).toEqual([]);
  });
});

describe("secretChangePattern", () => {
  const c = config([registry("a", "pullkeeper/a"), registry("b", LOCAL_ARN), registry("c", REMOTE_ARN)], [consumer("x", "a"), consumer("y", "b"), consumer("z", "c")]);
  const rules = secretChangeRules(c);
  const rule = (name: string) => rules.find((r) => r.name === name) ?? expect.unreachable(`no rule ${name}`);

  it("one rule per kind of Secrets Manager event for these three secrets", () => {
    expect(rules.map((r) => [r.name, r.kind, r.secrets.map((s) => s.configured)])).toEqual([
      ["SecretApiCalls", "apiCalls", ["pullkeeper/a", LOCAL_ARN, REMOTE_ARN]],
      ["SecretRotationSucceeded", "rotationSucceeded", ["pullkeeper/a", LOCAL_ARN, REMOTE_ARN]],
      ["SecretLabelUpdated", "labelUpdated", ["pullkeeper/a", LOCAL_ARN, REMOTE_ARN]],
    ]);
  });

  it("API calls: SECRET_CHANGE_PATTERNS.apiCalls narrowed on requestParameters.secretId, by name, partial ARN and full ARN", () => {
    expect(secretChangePattern(rule("SecretApiCalls"), here)).toEqual({
      source: ["aws.secretsmanager"],
      "detail-type": ["AWS API Call via CloudTrail"],
      detail: {
        eventName: ["PutSecretValue", "UpdateSecret", "UpdateSecretVersionStage", "RotateSecret", "RestoreSecret"],
        errorCode: [{ exists: false }],
        requestParameters: {
          secretId: [
            // Given by name: the full ARN's random suffix is unknown, so a prefix.
            "pullkeeper/a",
            "arn:aws:secretsmanager:eu-west-1:123456789012:secret:pullkeeper/a",
            { prefix: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:pullkeeper/a-" },
            // Given by ARN, here: the name resolves to it too.
            "pullkeeper/hub",
            "arn:aws:secretsmanager:eu-west-1:123456789012:secret:pullkeeper/hub",
            LOCAL_ARN,
            // Given by ARN, in another region: its name would be another secret here.
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:pullkeeper/gitlab",
            REMOTE_ARN,
          ],
        },
      },
    });
  });

  it("RotationSucceeded on additionalEventData.SecretId and Secret Label Updated on resources: the full ARN", () => {
    const fullArns = [{ prefix: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:pullkeeper/a-" }, LOCAL_ARN, REMOTE_ARN];
    expect(secretChangePattern(rule("SecretRotationSucceeded"), here)).toEqual({
      ...SECRET_CHANGE_PATTERNS.rotationSucceeded,
      detail: { eventName: ["RotationSucceeded"], additionalEventData: { SecretId: fullArns } },
    });
    expect(secretChangePattern(rule("SecretLabelUpdated"), here)).toEqual({ ...SECRET_CHANGE_PATTERNS.labelUpdated, resources: fullArns });
    expect(CREDENTIAL_ROTATED_PATTERN).toEqual({ source: ["pullkeeper"], "detail-type": ["Credential Rotated"] });
  });

  it("keeps every filter of the shared SECRET_CHANGE_PATTERNS (the patterns are imported, not copied)", () => {
    for (const r of rules) {
      const shared = SECRET_CHANGE_PATTERNS[r.kind];
      const pattern = secretChangePattern(r, here) as Record<string, unknown>;
      for (const [field, value] of Object.entries(shared)) {
        if (field === "detail") expect(pattern.detail).toMatchObject(value as object);
        else expect(pattern[field]).toEqual(value);
      }
    }
  });

  it("matches what a caller may type, and not another secret (except one whose name extends it, which the function filters)", () => {
    const api = secretChangePattern(rule("SecretApiCalls"), here);
    const call = (secretId: string, extra: object = {}) => ({
      source: "aws.secretsmanager",
      "detail-type": "AWS API Call via CloudTrail",
      detail: { eventName: "PutSecretValue", requestParameters: { secretId }, responseElements: null, ...extra },
    });
    for (const id of ["pullkeeper/a", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:pullkeeper/a", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:pullkeeper/a-AbC123"]) {
      expect(matchesPattern(api, call(id)), id).toBe(true);
    }
    for (const id of ["pullkeeper/b", "pullkeeper/gitlab", "pullkeeper/ab", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:pullkeeper/ab-AbC123", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:pullkeeper/hub-Zz9Zz9"]) {
      expect(matchesPattern(api, call(id)), id).toBe(false);
    }
    expect(matchesPattern(api, call("pullkeeper/a", { errorCode: "AccessDenied" }))).toBe(false);
    // The documented false positive: a secret named "pullkeeper/a-old" by full ARN.
    expect(matchesPattern(api, call("arn:aws:secretsmanager:eu-west-1:123456789012:secret:pullkeeper/a-old-AbC123"))).toBe(true);
  });

  it("splits a kind into several rules when its pattern would pass EventBridge's size limit, wherever it is deployed", () => {
    const many = Array.from({ length: 40 }, (_, i) => registry(`r${i}`, `pullkeeper/registry-credentials-for-team-${String(i).padStart(2, "0")}`));
    const c = config(many, many.map((_, i) => consumer(`c${i}`, `r${i}`)));
    const split = secretChangeRules(c);
    const apiRules = split.filter((r) => r.kind === "apiCalls");
    expect(apiRules.length).toBeGreaterThan(1);
    expect(apiRules.map((r) => r.name)).toEqual(["SecretApiCalls", ...apiRules.slice(1).map((_, i) => `SecretApiCalls${i + 2}`)]);
    for (const kind of ["apiCalls", "rotationSucceeded", "labelUpdated"] as const) {
      const ofKind = split.filter((r) => r.kind === kind);
      // Every tracked secret in exactly one rule of each kind, in order.
      expect(ofKind.flatMap((r) => r.secrets.map((s) => s.configured))).toEqual(trackedSecrets(c).map((s) => s.configured));
      for (const r of ofKind) {
        for (const at of [here, { partition: "aws-us-gov", region: "us-gov-west-1", account: "111122223333" }]) {
          expect(JSON.stringify(secretChangePattern(r, at)).length).toBeLessThanOrEqual(MAX_EVENT_PATTERN_CHARS);
        }
      }
    }
  });

  it("refuses a secret whose pattern alone would pass the limit, naming it", () => {
    const c: PullkeeperConfig = config([registry("a", "pullkeeper/a")], [consumer("x", "a")]);
    const long = { ...c, registries: [{ ...c.registries[0]!, secret: `pullkeeper/${"x".repeat(1000)}` }] };
    expect(() => secretChangeRules(long)).toThrow(/^registries\[0\]\.secret: "pullkeeper\/x+" is too long for an EventBridge event pattern \(2048 characters\)$/);
  });
});

describe("delivery queue timing", () => {
  it("keeps a received delivery invisible for six times the deliver function's timeout", () => {
    expect(DELIVERY_VISIBILITY_TIMEOUT_SECONDS).toBe(6 * DELIVER_TIMEOUT_SECONDS);
  });
});
