// Tests may read fixture files; the rule keeps core's src free of I/O.
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { InvalidInputError } from "@pullkeeper/core";
import {
  parseSecretChange,
  SECRET_CHANGE_EVENT_NAMES,
  SECRET_CHANGE_PATTERNS,
  type EventPattern,
  type SecretChange,
  type SecretChangeResult,
} from "@pullkeeper/core";

const DIR = fileURLToPath(new URL("../fixtures/secretsmanager/", import.meta.url));
const load = (file: string): unknown => JSON.parse(readFileSync(`${DIR}${file}`, "utf8"));
const FILES = readdirSync(DIR).filter((f) => f.endsWith(".json")).sort();

type Expectation =
  | { readonly change: SecretChange }
  | { readonly ignored: RegExp; readonly eventName?: string; readonly secretId?: string }
  | { readonly rejected: RegExp; readonly fields: readonly string[] };

const RAW = /raw CloudTrail record .*not an EventBridge event/;

/** One entry per file in test/fixtures/secretsmanager/: a new file without one fails the suite. */
const EXPECTED: Record<string, Expectation> = {
  // --- real samples -------------------------------------------------------------------------
  "putsecretvalue.console.postmangovsg-2022-01-04.verbatim.json": {
    change: {
      kind: "api-call",
      secretId: "arn:aws:secretsmanager:<REGION>:<ACCOUNT_ID>:secret:<SECRET_NAME>-<RANDOM_CHARACTERS>",
      eventName: "PutSecretValue",
      eventId: "abc",
      time: "2022-01-04T09:12:39Z",
      account: "<ACCOUNT_ID>",
      region: "<REGION>",
    },
  },
  "putsecretvalue.esi-reloader-docs-2024-10-23.verbatim.json": {
    change: {
      kind: "api-call",
      secretId: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/test-secret-123456",
      eventName: "PutSecretValue",
      eventId: "79f04f06-924c-7a00-b3f8-e532167d23e0",
      time: "2024-10-23T12:26:45Z",
      account: "123456789012",
      region: "eu-west-1",
    },
  },
  "rotationsucceeded.aws-blog-2021-08-13.verbatim.json": {
    change: {
      kind: "rotation",
      secretId: "arn:aws:secretsmanager:us-west-2:accountid:secret:Appuser-pyodbc-WoDpmU",
      eventName: "RotationSucceeded",
      eventId: "dd5fd657-7361-f5d2-0c0f-0fe27390611b",
      time: "2021-08-13T19:17:16Z",
      account: "accountid",
      region: "us-west-2",
    },
  },
  "secret-label-updated.awsdocs-2024-02-06.verbatim.json": {
    change: {
      kind: "label-updated",
      secretId: "arn:aws:secretsmanager:us-west-2:012345678901:secret:mySecret-a1b2c3",
      versionId: "a1b2c3d4-5678-90ab-cdef-EXAMPLE11111",
      eventName: "Secret Label Updated",
      eventId: "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
      time: "2024-02-06T16:43:48Z",
      account: "012345678901",
      region: "us-west-2",
    },
  },
  "rotationfailed.umccr-2021-09-01.verbatim.json": {
    ignored: /^the rotation failed: AWSCURRENT did not move$/,
    eventName: "RotationFailed",
    secretId: "arn:aws:secretsmanager:ap-southeast-2:843407916570:secret:IcaSecretsWorkflow-yUaicA",
  },
  "rotationfailed.awsdocs-2022-09-13.verbatim.json": { rejected: RAW, fields: ["source", "detail-type"] },
  "createsecret.awsdocs-2018-04-03.verbatim.json": { rejected: RAW, fields: ["source", "detail-type"] },
  "deletesecret.awsdocs-2018-04-03.legacy-aRN.verbatim.json": { rejected: RAW, fields: ["source", "detail-type"] },

  // --- written by us, well-formed ---------------------------------------------------------
  "updatesecret.name-only.pullkeeper-written.json": {
    change: {
      kind: "api-call",
      secretId: "pullkeeper/dockerhub",
      eventName: "UpdateSecret",
      eventId: "0b7c2f1e-3d4a-4b5c-8d9e-0f1a2b3c4d01",
      time: "2025-03-10T08:15:42Z",
      account: "123456789012",
      region: "eu-west-1",
    },
  },
  "updatesecretversionstage.awscurrent.pullkeeper-written.json": {
    change: {
      kind: "api-call",
      secretId: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:pullkeeper/ghcr-Xy12Ab",
      eventName: "UpdateSecretVersionStage",
      eventId: "0b7c2f1e-3d4a-4b5c-8d9e-0f1a2b3c4d02",
      time: "2025-03-10T09:00:03Z",
      account: "123456789012",
      region: "eu-west-1",
    },
  },
  "rotatesecret.pullkeeper-written.json": {
    // Request by name, response with the ARN: the ARN wins. The response's versionId is the
    // AWSPENDING version, so no versionId is reported.
    change: {
      kind: "api-call",
      secretId: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:pullkeeper/ghcr-Xy12Ab",
      eventName: "RotateSecret",
      eventId: "0b7c2f1e-3d4a-4b5c-8d9e-0f1a2b3c4d04",
      time: "2025-03-10T10:30:00Z",
      account: "123456789012",
      region: "eu-west-1",
    },
  },
  "restoresecret.legacy-aRN.pullkeeper-written.json": {
    change: {
      kind: "api-call",
      secretId: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:pullkeeper/quay-Qq9Zz0",
      eventName: "RestoreSecret",
      eventId: "0b7c2f1e-3d4a-4b5c-8d9e-0f1a2b3c4d05",
      time: "2023-11-21T14:05:37Z",
      account: "123456789012",
      region: "eu-west-1",
    },
  },
  "credential-rotated.pullkeeper-written.json": {
    change: {
      kind: "credential-rotated",
      secretId: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:pullkeeper/prod-ecr-Ec9Rr1",
      versionId: "4e5f6a7b-8c9d-4e0f-9a1b-2c3d4e5f6a09",
      registryId: "prod-ecr",
      eventName: "Credential Rotated",
      eventId: "0b7c2f1e-3d4a-4b5c-8d9e-0f1a2b3c4d09",
      time: "2025-03-10T13:00:05Z",
      account: "123456789012",
      region: "eu-west-1",
    },
  },
  "updatesecretversionstage.awspending.pullkeeper-written.json": {
    ignored: /^UpdateSecretVersionStage moved the AWSPENDING label, not AWSCURRENT/,
    eventName: "UpdateSecretVersionStage",
    secretId: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:pullkeeper/ghcr-Xy12Ab",
  },
  "putsecretvalue.arn.errorcode.pullkeeper-written.json": {
    ignored: /^the PutSecretValue call failed \(errorCode ResourceExistsException\): nothing changed$/,
    eventName: "PutSecretValue",
    secretId: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:pullkeeper/dockerhub-Dh4Ub7",
  },
  "deletesecret.pullkeeper-written.json": {
    ignored: /^DeleteSecret does not change a secret's current value/,
    eventName: "DeleteSecret",
    secretId: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:pullkeeper/quay-Qq9Zz0",
  },
  "secret-label-updated.awsprevious.pullkeeper-written.json": {
    ignored: /^the AWSPREVIOUS label moved, not AWSCURRENT/,
    eventName: "Secret Label Updated",
    secretId: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:pullkeeper/ghcr-Xy12Ab",
  },
  "delivery-failed.pullkeeper-written.json": { ignored: /^pullkeeper's own "Delivery Failed" event is not a credential change$/ },
  "environment-stale.pullkeeper-written.json": { ignored: /^pullkeeper's own "Environment Stale" event is not a credential change$/ },

  // --- written by us, malformed -----------------------------------------------------------
  "malformed-not-an-object.pullkeeper-written.json": { rejected: /expected an EventBridge event \(a JSON object\), received an array/, fields: ["(top level)"] },
  "malformed-missing-source.pullkeeper-written.json": { rejected: /^event is not valid:\n {2}source: /, fields: ["source"] },
  "malformed-missing-detail-type.pullkeeper-written.json": { rejected: /^event is not valid:\n {2}detail-type: /, fields: ["detail-type"] },
  "malformed-detail-not-an-object.pullkeeper-written.json": { rejected: /detail: Invalid input: expected object, received string/, fields: ["detail"] },
  "malformed-api-call-missing-eventname.pullkeeper-written.json": { rejected: /detail\.eventName: Invalid input: expected string/, fields: ["detail.eventName"] },
  "malformed-putsecretvalue-no-secret-id.pullkeeper-written.json": {
    rejected: /^Secrets Manager PutSecretValue event names no secret: none of detail\.requestParameters\.secretId, detail\.responseElements\.arn, detail\.responseElements\.aRN is set$/,
    fields: ["detail.requestParameters.secretId", "detail.responseElements.arn", "detail.responseElements.aRN"],
  },
  "malformed-putsecretvalue-redacted-request.pullkeeper-written.json": {
    rejected: /names no secret: .*\(CloudTrail redacted requestParameters\)$/,
    fields: ["detail.requestParameters.secretId", "detail.responseElements.arn", "detail.responseElements.aRN"],
  },
  "malformed-putsecretvalue-secretid-not-a-string.pullkeeper-written.json": {
    rejected: /^Secrets Manager PutSecretValue event is not valid:\n {2}detail\.requestParameters\.secretId: Invalid input: expected string, received number$/,
    fields: ["detail.requestParameters.secretId"],
  },
  "malformed-rotationsucceeded-no-secret-id.pullkeeper-written.json": {
    rejected: /RotationSucceeded event names no secret: detail\.additionalEventData\.SecretId is missing/,
    fields: ["detail.additionalEventData.SecretId"],
  },
  "malformed-secret-label-updated-no-version.pullkeeper-written.json": {
    rejected: /^Secret Label Updated event is not valid:\n {2}detail\.versionId: /,
    fields: ["detail.versionId"],
  },
  "malformed-secret-label-updated-no-secret.pullkeeper-written.json": {
    rejected: /Secret Label Updated event names no secret: resources\[0\] \(the secret ARN\) and detail\.name are both missing/,
    fields: ["resources[0]", "detail.name"],
  },
  "malformed-credential-rotated-wrong-types.pullkeeper-written.json": {
    rejected: /^pullkeeper Credential Rotated event is not valid:\n {2}detail\.secretArn: .*must be a secret ARN\n {2}detail\.versionId: Invalid input: expected string, received number$/,
    fields: ["detail.secretArn", "detail.versionId"],
  },
};

function rejection(input: unknown): InvalidInputError {
  try {
    parseSecretChange(input);
  } catch (e) {
    expect(e).toBeInstanceOf(InvalidInputError);
    return e as InvalidInputError;
  }
  throw new Error("expected the event to be rejected");
}

/** Enough of EventBridge's matching for these patterns: value lists, `exists`, nested objects. */
function matches(pattern: EventPattern, event: unknown): boolean {
  if (typeof event !== "object" || event === null) return false;
  const record = event as Record<string, unknown>;
  return Object.entries(pattern).every(([key, rule]) => {
    const value = record[key];
    if (!Array.isArray(rule)) return matches(rule as EventPattern, value);
    return rule.some((r: string | { readonly exists: boolean }) => (typeof r === "string" ? value === r : r.exists === (value !== undefined)));
  });
}

const PATTERNS = Object.values(SECRET_CHANGE_PATTERNS) as readonly EventPattern[];

describe("parseSecretChange against test/fixtures/secretsmanager", () => {
  it("has an expectation for every fixture file, and a file for every expectation", () => {
    expect(FILES).toEqual(Object.keys(EXPECTED).sort());
    expect(FILES.length).toBeGreaterThanOrEqual(30);
  });

  it.each(FILES)("%s", (file) => {
    const expected = EXPECTED[file];
    if (expected === undefined) throw new Error(`no expectation for ${file}`);
    const event = load(file);
    if ("change" in expected) {
      expect(parseSecretChange(event)).toEqual({ changed: true, change: expected.change });
    } else if ("ignored" in expected) {
      const result = parseSecretChange(event);
      expect(result.changed).toBe(false);
      if (result.changed) return;
      expect(result.reason).toMatch(expected.ignored);
      expect(result.eventName).toBe(expected.eventName);
      expect(result.secretId).toBe(expected.secretId);
    } else {
      const error = rejection(event);
      expect(error.code).toBe("invalid_input");
      expect(error.message).toMatch(expected.rejected);
      expect(error.issues.map((issue) => issue.split(":")[0])).toEqual(expected.fields);
    }
  });

  it("every change a fixture yields passes one of the rules, and only the stage filter is left to the parser", () => {
    const passedButIgnored: string[] = [];
    for (const file of FILES) {
      const expected = EXPECTED[file];
      if (expected === undefined || "rejected" in expected) continue;
      const event = load(file);
      const matched = PATTERNS.filter((p) => matches(p, event)).length;
      if ("change" in expected) expect(matched, file).toBe(1);
      else if (matched > 0) passedButIgnored.push(file);
    }
    expect(passedButIgnored).toEqual(["updatesecretversionstage.awspending.pullkeeper-written.json"]);
  });
});

describe("parseSecretChange", () => {
  const base = load("putsecretvalue.esi-reloader-docs-2024-10-23.verbatim.json") as Record<string, unknown> & { detail: Record<string, unknown> };
  const withDetail = (detail: Record<string, unknown>) => ({ ...base, detail: { ...base.detail, ...detail } });
  const CANARY = "canary-Zq7-credential-value";

  it("lists the API calls it reacts to, and the rules use the same list", () => {
    expect(SECRET_CHANGE_EVENT_NAMES).toEqual(["PutSecretValue", "UpdateSecret", "UpdateSecretVersionStage", "RotateSecret", "RestoreSecret"]);
    expect(SECRET_CHANGE_PATTERNS.apiCalls.detail.eventName).toEqual(SECRET_CHANGE_EVENT_NAMES);
    expect(JSON.parse(JSON.stringify(SECRET_CHANGE_PATTERNS))).toEqual({
      apiCalls: {
        source: ["aws.secretsmanager"],
        "detail-type": ["AWS API Call via CloudTrail"],
        detail: { eventName: [...SECRET_CHANGE_EVENT_NAMES], errorCode: [{ exists: false }] },
      },
      rotationSucceeded: { source: ["aws.secretsmanager"], "detail-type": ["AWS Service Event via CloudTrail"], detail: { eventName: ["RotationSucceeded"] } },
      labelUpdated: { source: ["aws.secretsmanager"], "detail-type": ["Secret Label Updated"], detail: { labelUpdated: ["AWSCURRENT"] } },
      credentialRotated: { source: ["pullkeeper"], "detail-type": ["Credential Rotated"] },
    });
  });

  it.each(SECRET_CHANGE_EVENT_NAMES)("reacts to a successful %s", (eventName) => {
    const result = parseSecretChange(withDetail({ eventName, responseElements: null, requestParameters: { secretId: "team/registry" } }));
    expect(result).toMatchObject({ changed: true, change: { kind: "api-call", eventName, secretId: "team/registry" } });
    expect(result.changed && result.change.versionId).toBe(undefined);
  });

  it("prefers the ARN from the response over the name in the request, and reads the legacy aRN", () => {
    const byName = { secretId: "team/registry" };
    const arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:team/registry-AbCdEf";
    const id = (responseElements: unknown) => {
      const result = parseSecretChange(withDetail({ requestParameters: byName, responseElements }));
      return result.changed ? result.change.secretId : undefined;
    };
    expect(id({ arn })).toBe(arn);
    expect(id({ aRN: arn })).toBe(arn);
    expect(id({ name: "team/registry" })).toBe("team/registry");
    expect(id(null)).toBe("team/registry");
    expect(parseSecretChange(withDetail({ requestParameters: null, responseElements: { arn } }))).toMatchObject({ changed: true, change: { secretId: arn } });
  });

  it("falls back to resources[0] for a rotation event without additionalEventData", () => {
    const event = load("malformed-rotationsucceeded-no-secret-id.pullkeeper-written.json") as Record<string, unknown>;
    const arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:pullkeeper/ghcr-Xy12Ab";
    expect(parseSecretChange({ ...event, resources: [arn] })).toMatchObject({ changed: true, change: { kind: "rotation", secretId: arn } });
  });

  it("ignores well-formed events from other sources and other Secrets Manager detail-types", () => {
    expect(parseSecretChange({ source: "aws.ec2", "detail-type": "EC2 Instance State-change Notification", detail: {} })).toMatchObject({
      changed: false,
      reason: 'events from source "aws.ec2" are neither Secrets Manager nor pullkeeper events',
    });
    expect(parseSecretChange({ ...base, "detail-type": "Secret Version Deleted" })).toMatchObject({ changed: false, detailType: "Secret Version Deleted" });
    expect(parseSecretChange(withDetail({ eventName: "GetSecretValue" }))).toMatchObject({ changed: false, eventName: "GetSecretValue" });
    const started = load("rotationsucceeded.aws-blog-2021-08-13.verbatim.json") as { detail: object };
    expect(parseSecretChange({ ...started, detail: { ...started.detail, eventName: "RotationStarted" } })).toMatchObject({
      changed: false,
      reason: "RotationStarted does not change a secret's current value (reacting to RotationSucceeded)",
    });
  });

  it("ignores an UpdateSecretVersionStage only when it names a label other than AWSCURRENT", () => {
    const stage = (versionStage?: string) => parseSecretChange(withDetail({ eventName: "UpdateSecretVersionStage", requestParameters: { secretId: "s", ...(versionStage ? { versionStage } : {}) } })).changed;
    expect(stage("AWSCURRENT")).toBe(true);
    expect(stage(undefined)).toBe(true);
    expect(stage("AWSPENDING")).toBe(false);
    expect(stage("my-label")).toBe(false);
  });

  it("does not require a secret id for an event it ignores, nor validate what it does not read", () => {
    expect(parseSecretChange(withDetail({ eventName: "DeleteSecret", requestParameters: { secretId: 42 }, responseElements: null }))).toEqual({
      changed: false,
      reason: expect.stringMatching(/^DeleteSecret does not change/) as unknown,
      source: "aws.secretsmanager",
      detailType: "AWS API Call via CloudTrail",
      eventName: "DeleteSecret",
      eventId: "79f04f06-924c-7a00-b3f8-e532167d23e0",
    });
  });

  it("rejects inputs that are not objects, naming the top level", () => {
    for (const input of [null, undefined, "PutSecretValue", 42, true, []]) {
      const error = rejection(input);
      expect(error.issues).toHaveLength(1);
      expect(error.issues[0]).toMatch(/^\(top level\): expected object, received /);
    }
  });

  it("rejects wrong envelope types, naming each field", () => {
    const error = rejection({ ...base, id: 7, time: false, resources: "arn:x", "detail-type": "" });
    expect(error.issues.map((i) => i.split(":")[0])).toEqual(["detail-type", "id", "time", "resources"]);
  });

  it("rejects a Records batch with a hint to unwrap it", () => {
    expect(rejection({ Records: [{ body: JSON.stringify(base) }] }).message).toMatch(/batch of Records .* unwrap each record's body/);
  });

  it("explains a raw CloudTrail record as a wiring problem", () => {
    const error = rejection(load("deletesecret.awsdocs-2018-04-03.legacy-aRN.verbatim.json"));
    expect(error.message).toContain("eventSource secretsmanager.amazonaws.com, eventName DeleteSecret");
    expect(error.message).toContain("SECRET_CHANGE_PATTERNS");
    // The record unwrapped from a real EventBridge event is rejected the same way.
    expect(rejection(base.detail).message).toMatch(RAW);
  });

  it("never carries request parameters or error text into a result or an error", () => {
    const leaks = (thing: unknown) => JSON.stringify(thing).includes(CANARY) || (thing instanceof Error && `${thing.message} ${thing.stack ?? ""}`.includes(CANARY));
    const params = { secretString: CANARY, secretBinary: CANARY, clientRequestToken: "t" };
    const outcomes: unknown[] = [
      parseSecretChange(withDetail({ requestParameters: { ...params, secretId: "team/registry" } })),
      parseSecretChange(withDetail({ requestParameters: { ...params, secretId: "team/registry" }, errorCode: "AccessDenied", errorMessage: CANARY })),
      parseSecretChange(withDetail({ eventName: "DeleteSecret", requestParameters: params })),
      rejection(withDetail({ requestParameters: params, responseElements: null })),
      rejection(withDetail({ requestParameters: { ...params, secretId: 7 } })),
      rejection(withDetail({ requestParameters: { ...params, secretId: CANARY.length }, responseElements: CANARY })),
    ];
    for (const outcome of outcomes) {
      expect(leaks(outcome)).toBe(false);
      if (outcome instanceof InvalidInputError) expect(leaks(outcome.issues)).toBe(false);
    }
    const changed = outcomes[0] as SecretChangeResult;
    expect(changed.changed && Object.keys(changed.change).sort()).toEqual(["account", "eventId", "eventName", "kind", "region", "secretId", "time"]);
  });
});
