import { describe, expect, it } from "vitest";
import { parseConfig } from "./config.js";
import { InvalidInputError } from "../model/errors.js";

const valid = `
registries:
  - id: prod-ecr
    host: 123456789012.dkr.ecr.eu-west-1.amazonaws.com
    kind: ecr
    source: { type: ecr-token, account: "123456789012", region: eu-west-1, margin: 3h }
    secret: pullkeeper/prod-ecr
    verify: { canary: "team/app:stable" }
  - id: partner-ecr
    host: 210987654321.dkr.ecr.us-east-2.amazonaws.com
    kind: ecr
    source: { type: ecr-token, account: "210987654321", region: us-east-2, roleArn: "arn:aws:iam::210987654321:role/pullkeeper-pull" }
    secret: arn:aws:secretsmanager:us-east-2:123456789012:secret:pullkeeper/partner-AbCdEf
  - id: dockerhub
    host: registry-1.docker.io
    kind: dockerhub
    source: { type: managed-secret }
    secret: pullkeeper/dockerhub
`;

function problems(text: string): readonly string[] {
  try {
    parseConfig(text);
  } catch (e) {
    expect(e).toBeInstanceOf(InvalidInputError);
    return (e as InvalidInputError).issues;
  }
  throw new Error("expected the config to be rejected");
}

describe("pullkeeper.yaml", () => {
  it("parses registries with their sources, margins and canaries", () => {
    const config = parseConfig(valid);
    expect(config.registries.map((r) => r.id)).toEqual(["prod-ecr", "partner-ecr", "dockerhub"]);
    expect(config.registries[0]?.source).toEqual({ type: "ecr-token", account: "123456789012", region: "eu-west-1", marginSeconds: 10800 });
    expect(config.registries[0]?.verify).toEqual({ canary: { repository: "team/app", reference: "stable" } });
    expect(config.registries[1]?.source).toMatchObject({ roleArn: "arn:aws:iam::210987654321:role/pullkeeper-pull" });
    expect(config.settings).toEqual({ refreshSchedule: "rate(15 minutes)", reconcileSchedule: "rate(15 minutes)", maxJitterSeconds: 300, rateLimits: {}, auditSchedule: "rate(15 minutes)", clockSkewSeconds: 5, revokeSchedule: "rate(15 minutes)", timezone: "UTC" });
    expect(config.registries[0]?.revoke).toEqual({ afterSeconds: 86_400, whenInUse: "wait" });
  });

  it("reads a registry's revocation policy and names bad values", () => {
    const withRevoke = valid.replace("secret: pullkeeper/dockerhub", 'secret: pullkeeper/dockerhub\n    revoke: { after: 6h, whenInUse: revoke }');
    expect(withRevoke).not.toEqual(valid);
    expect(parseConfig(withRevoke).registries[2]?.revoke).toEqual({ afterSeconds: 21_600, whenInUse: "revoke" });
    const bad = valid.replace("secret: pullkeeper/dockerhub", 'secret: pullkeeper/dockerhub\n    revoke: { after: soon, whenInUse: never }');
    expect(problems(bad)).toEqual(
      expect.arrayContaining([expect.stringMatching(/^pullkeeper\.yaml:19:22 registries\[2\]\.revoke\.after: expected a duration/), expect.stringMatching(/^pullkeeper\.yaml:19:39 registries\[2\]\.revoke\.whenInUse: expected "wait" or "revoke"/)]),
    );
  });

  it("reports every problem with its line, column and path in the file, not only the first", () => {
    const issues = problems(`
registries:
  - id: prod-ecr
    host: 123456789012.dkr.ecr.eu-west-1.amazonaws.com
    kind: ecr
    source: { type: ecr-token, account: "1234", region: eu-west-1 }
    secret: pullkeeper/prod-ecr
  - id: Bad_Id
    host: 123456789012.dkr.ecr.eu-west-1.amazonaws.com
    kind: ecr
    source: { type: ecr-token, account: "123456789012", region: europe }
    secret: pullkeeper/other
`);
    expect(issues).toContain("pullkeeper.yaml:6:41 registries[0].source.account: expected a 12-digit AWS account ID");
    expect(issues).toContain("pullkeeper.yaml:8:9 registries[1].id: expected lower-case letters, digits and dashes (at most 63)");
    expect(issues).toContain('pullkeeper.yaml:11:65 registries[1].source.region: expected an AWS region such as eu-west-1, got "europe"');
  });

  it("checks that an ECR host names the source's account and region", () => {
    const issues = problems(`
registries:
  - id: prod-ecr
    host: 123456789012.dkr.ecr.eu-west-1.amazonaws.com
    kind: ecr
    source: { type: ecr-token, account: "210987654321", region: eu-west-1 }
    secret: pullkeeper/prod-ecr
`);
    expect(issues).toEqual(["pullkeeper.yaml:4:11 registries[0].host: host names account 123456789012 in eu-west-1, but source says 210987654321 in eu-west-1"]);
  });

  it("rejects unknown keys, duplicate ids, unknown source types and consumers of unknown registries", () => {
    const issues = problems(`
registries:
  - id: a
    host: registry-1.docker.io
    kind: dockerhub
    source: { type: htpasswd-typo }
    secret: s
    colour: blue
  - id: a
    host: ghcr.io
    kind: ghcr
    source: { type: managed-secret }
    secret: s2
consumers:
  - id: c1
    registry: nowhere
    target: { kind: webhook }
`);
    expect(issues).toEqual([
      'pullkeeper.yaml:6:21 registries[0].source.type: expected source.type to be one of "ecr-token", "gar-token", "managed-secret", "htpasswd", "dockerhub-token", "gitlab-token", "jfrog-token", "harbor-robot", "quay-robot", "acr-token"',
      'pullkeeper.yaml:8:5 registries[0].colour: unknown key "colour"',
      'pullkeeper.yaml:9:9 registries[1].id: duplicate id "a" (first at registries[0])',
      'pullkeeper.yaml:16:15 consumers[0].registry: no registry with id "nowhere"',
    ]);
  });

  it("takes the audit settings and a consumer's restart opt-in, naming bad values", () => {
    const base = "registries:\n  - { id: a, host: ghcr.io, kind: ghcr, source: { type: managed-secret }, secret: s }\n";
    const config = parseConfig(`${base}consumers:\n  - { id: c, registry: a, restart: true, target: { kind: webhook } }\nsettings: { auditSchedule: rate(5 minutes), clockSkew: 10s }\n`);
    expect(config.consumers[0]?.restart).toBe(true);
    expect(config.settings).toMatchObject({ auditSchedule: "rate(5 minutes)", clockSkewSeconds: 10 });
    const issues = problems(`${base}consumers:\n  - { id: c, registry: a, restart: "yes", target: { kind: webhook } }\nsettings: { auditSchedule: hourly, clockSkew: soon }\n`);
    expect(issues).toEqual([
      "pullkeeper.yaml:4:36 consumers[0].restart: expected true or false",
      expect.stringMatching(/^pullkeeper\.yaml:5:28 settings\.auditSchedule: .*expected rate/),
      expect.stringMatching(/^pullkeeper\.yaml:5:47 settings\.clockSkew: expected a duration/),
    ]);
  });

  it("reports YAML syntax errors with their line and column", () => {
    expect(problems("registries:\n  - id: a\n   host: [unclosed\n")[0]).toBe("pullkeeper.yaml:3:1 Sequence item without - indicator");
    // One bad bracket makes every later token "unexpected": the first three say it.
    const cascade = `registries:\n  - { id: a, source: { type: x }\n${"    key: value\n".repeat(30)}`;
    expect(problems(cascade).length).toBe(3);
  });

  it("rejects an empty file", () => {
    expect(problems("")).toEqual(['pullkeeper.yaml:1:1 registries: missing key "registries" (expected array)']);
  });
});

describe("rate limits", () => {
  it("falls back from a provider to its longest configured prefix, and overrides win", async () => {
    const { rateLimitFor } = await import("../propagation/rate-limits.js");
    const defaults = { "aws:codebuild": 10, github: 80 / 60 };
    expect(rateLimitFor("aws:codebuild:eu-west-1", {}, defaults)).toBe(10);
    expect(rateLimitFor("github", {}, defaults)).toBeCloseTo(80 / 60);
    expect(rateLimitFor("aws:codebuild:eu-west-1", { "aws:codebuild:eu-west-1": 2 }, defaults)).toBe(2);
    expect(rateLimitFor("somewhere-else", {}, defaults)).toBeUndefined();
  });
});
