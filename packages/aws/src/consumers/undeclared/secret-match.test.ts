import type { TrackedSecret } from "@pullkeeper/core";
import { describe, expect, it } from "vitest";
import { ACCOUNT, OTHER_ACCOUNT, secretArn } from "../shared/testing.js";
import { trackedSecretsReferenced } from "./secret-match.js";

const HOME = { region: "eu-west-1", account: ACCOUNT };
const FULL = secretArn("eu-west-1"); // arn:aws:secretsmanager:eu-west-1:123456789012:secret:pullkeeper/dockerhub-AbCdEf
const PARTIAL = FULL.replace(/-AbCdEf$/, "");

const byArn: TrackedSecret = { registryId: "dockerhub", secret: FULL };
const byPartial: TrackedSecret = { registryId: "dockerhub", secret: PARTIAL };
const byName: TrackedSecret = { registryId: "dockerhub", secret: "pullkeeper/dockerhub" };

/** `defaultRegion`: where a tracked name lives; null for "unknown" (a default parameter would swallow undefined). */
const matches = (reference: string, tracked: TrackedSecret, at = HOME, defaultRegion: string | null = "eu-west-1") =>
  trackedSecretsReferenced(reference, at, [tracked], defaultRegion ?? undefined).length === 1;

describe("trackedSecretsReferenced", () => {
  it("matches a full ARN, a partial ARN and a name that resolves to the tracked full ARN", () => {
    expect(matches(FULL, byArn)).toBe(true);
    expect(matches(PARTIAL, byArn)).toBe(true);
    expect(matches("pullkeeper/dockerhub", byArn)).toBe(true);
  });

  it("matches any form against a secret the config gives by partial ARN or by name", () => {
    for (const tracked of [byPartial, byName]) {
      expect(matches(FULL, tracked)).toBe(true);
      expect(matches(PARTIAL, tracked)).toBe(true);
      expect(matches("pullkeeper/dockerhub", tracked)).toBe(true);
    }
  });

  it("resolves a name in the resource's own region and account", () => {
    expect(matches("pullkeeper/dockerhub", byArn, { region: "us-east-1", account: ACCOUNT })).toBe(false);
    expect(matches("pullkeeper/dockerhub", byArn, { region: "eu-west-1", account: OTHER_ACCOUNT })).toBe(false);
  });

  it("does not match an ARN in another region or account", () => {
    expect(matches(secretArn("us-east-1"), byArn)).toBe(false);
    expect(matches(secretArn("eu-west-1", OTHER_ACCOUNT), byArn)).toBe(false);
    expect(matches(secretArn("us-east-1").replace(/-AbCdEf$/, ""), byArn)).toBe(false);
    // A tracked name lives in the deployment's region: an ARN elsewhere is another secret.
    expect(matches(secretArn("us-east-1"), byName)).toBe(false);
    expect(matches(FULL, byName, HOME, "us-east-1")).toBe(false);
  });

  it("does not take a re-created secret (same name, other random suffix) for the tracked one", () => {
    expect(matches(secretArn("eu-west-1", ACCOUNT, "pullkeeper/dockerhub", "ZyXwVu"), byArn)).toBe(false);
  });

  it("does not match other names, other services or an empty reference", () => {
    expect(matches("pullkeeper/dockerhub-old", byName)).toBe(false);
    expect(matches(secretArn("eu-west-1", ACCOUNT, "pullkeeper/dockerhub-old"), byName)).toBe(false);
    expect(matches(`arn:aws:ssm:eu-west-1:${ACCOUNT}:parameter/pullkeeper/dockerhub`, byName)).toBe(false);
    expect(matches("", byName)).toBe(false);
    expect(trackedSecretsReferenced(undefined, HOME, [byName], "eu-west-1")).toEqual([]);
  });

  it("a name that ends like a random suffix is matched only as itself", () => {
    // Secrets Manager names may end in "-" and six characters; a bare name never carries a suffix.
    expect(matches("pullkeeper/dockerhub-AbCdEf", byName)).toBe(false);
  });

  it("without a known deployment region, a tracked name matches in any region of the caller's account", () => {
    expect(matches(secretArn("us-east-1"), byName, HOME, null)).toBe(true);
    expect(matches(secretArn("us-east-1", OTHER_ACCOUNT), byName, HOME, null)).toBe(false);
  });

  it("returns every registry that shares the secret", () => {
    const shared = [byArn, { registryId: "dockerhub-mirror", secret: "pullkeeper/dockerhub" }, { registryId: "ghcr", secret: "pullkeeper/ghcr" }];
    expect(trackedSecretsReferenced(PARTIAL, HOME, shared, "eu-west-1").map((t) => t.registryId)).toEqual(["dockerhub", "dockerhub-mirror"]);
  });
});
