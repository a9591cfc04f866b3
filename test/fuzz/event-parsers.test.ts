import { AuditScanEventSchema } from "@pullkeeper/aws/lambda/handlers/audit-scan";
import { ReconcileEventSchema } from "@pullkeeper/aws/lambda/handlers/reconcile";
import { RefreshEventSchema } from "@pullkeeper/aws/lambda/handlers/refresh";
import { RevokeEventSchema } from "@pullkeeper/aws/lambda/handlers/revoke";
import { RotationEventSchema } from "@pullkeeper/aws/lambda/handlers/rotate";
import { scheduledEvent, type ScheduleName, schedulerInput } from "@pullkeeper/aws/lambda/scheduled-event";
import { fromDeliveryMessage, parseSecretChange, parseWith, ROTATION_STEPS, SECRET_CHANGE_DETAIL_TYPES, SECRET_CHANGE_EVENT_NAMES, toDeliveryMessage } from "@pullkeeper/core";
import fc from "fast-check";
import { describe, it } from "vitest";
import type { z } from "zod";
import { jsonText, mutatedJsonText, mutatedValue, oddKey, oddValue } from "./mutate.js";
import { check, fixturesIn, parsedOrRefused } from "./outcomes.js";
import { FUZZ_TIMEOUT_MS, fuzz } from "./settings.js";

/**
 * Every event parser a function runs before it does anything: a parsed event or an
 * InvalidInputError naming what is wrong, for real payloads broken at random and for made-up ones.
 */

const SECRET_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:pullkeeper/prod-ecr-Ec9Rr1";
const VOCABULARY = [
  "aws.secretsmanager", "pullkeeper", "aws.events", "aws.scheduler", "pullkeeper.scheduler", ...Object.values(SECRET_CHANGE_DETAIL_TYPES), ...SECRET_CHANGE_EVENT_NAMES,
  "RotationSucceeded", "AWSCURRENT", "AWSPENDING", "HIDDEN_DUE_TO_SECURITY_REASONS", SECRET_ARN, "prod-ecr", "2026-12-02T16:00:00Z", "0", "123456789012", "eu-west-1", ...ROTATION_STEPS,
];
const DETAIL_KEYS = ["eventName", "errorCode", "requestParameters", "responseElements", "additionalEventData", "secretId", "SecretId", "versionStage", "arn", "aRN", "name", "labelUpdated", "versionId", "registryId", "secretArn", "expiresAt", "registryIds", "force", "rollback"];

const word = fc.oneof(fc.constantFrom(...VOCABULARY), oddValue);
const detailLike: fc.Arbitrary<unknown> = fc.letrec<{ node: unknown }>((tie) => ({
  node: fc.oneof({ depthSize: "small", withCrossShrink: true }, word, fc.dictionary(fc.oneof(fc.constantFrom(...DETAIL_KEYS), oddKey), tie("node"), { maxKeys: 5 }), fc.array(tie("node"), { maxLength: 3 })),
})).node;

/** Made up from scratch: anything at all, or something shaped like an EventBridge event with plausible and odd fields. */
const eventLike = fc.oneof(
  fc.anything({ withNullPrototype: true, withSparseArray: true, withBoxedValues: true, withObjectString: true, maxDepth: 4 }),
  fc.record(
    {
      version: word, id: word, "detail-type": word, source: word, account: word, time: word, region: word, resources: fc.oneof(fc.array(word, { maxLength: 3 }), word), detail: detailLike,
      schedule: word, scheduleArn: word, scheduledTime: word, executionId: word, SecretId: word, ClientRequestToken: word, Step: word,
    },
    { requiredKeys: [] },
  ),
);

const secretChanges = [...fixturesIn("secretsmanager"), ...fixturesIn("shared/aws-secretsmanager-eventbridge"), ...fixturesIn("shared/aws-secretsmanager-cloudtrail-raw")];

describe("fuzz: secret-change events (functions/on-secret-change)", () => {
  it("yields a change, a reason to ignore, or an InvalidInputError", () => {
    fuzz(fc.oneof(eventLike, mutatedValue(secretChanges)), (event) => {
      const result = parsedOrRefused(() => parseSecretChange(event));
      if (result === undefined) return;
      if (result.changed) check(typeof result.change.secretId === "string" && result.change.secretId !== "", "a change names its secret");
      else check(typeof result.reason === "string" && result.reason !== "", "an ignored event says why");
    });
  }, FUZZ_TIMEOUT_MS);
});

describe("fuzz: delivery messages (functions/deliver, SQS bodies)", () => {
  const at = new Date("2026-12-02T16:00:00Z");
  const seeds = [JSON.parse(toDeliveryMessage({ consumerId: "ci", registryId: "prod-ecr", secretArn: SECRET_ARN, versionId: "v1", versionCreatedAt: at }))];
  it("yields a delivery request with a real date, or an InvalidInputError", () => {
    fuzz(fc.oneof(fc.string({ unit: "binary" }), fc.json(), eventLike.map(jsonText), mutatedJsonText(seeds)), (body) => {
      const request = parsedOrRefused(() => fromDeliveryMessage(body));
      if (request === undefined) return;
      check([request.consumerId, request.registryId, request.versionId].every((s) => typeof s === "string" && s !== ""), "ids are text");
      check(request.secretArn.startsWith("arn:"), "the secret is an ARN");
      check(Number.isFinite(request.versionCreatedAt.getTime()), "the version date is a date");
    });
  }, FUZZ_TIMEOUT_MS);
});

const SCHEDULED: readonly [ScheduleName, z.ZodType, readonly unknown[]][] = [
  ["refresh", RefreshEventSchema, [{}, { registryIds: ["prod-ecr", "hub"] }, { force: true }, { registryIds: ["a"], force: false }]],
  ["reconcile", ReconcileEventSchema, [{}]],
  ["audit-scan", AuditScanEventSchema, [{}, { registryIds: ["prod-ecr"] }]],
  ["revoke", RevokeEventSchema, [{}, { registryIds: ["prod-ecr"] }, { rollback: "harbor" }]],
];

/** A schedule's input as EventBridge Scheduler fills it in. */
function fromScheduler(schedule: ScheduleName): unknown {
  return JSON.parse(
    schedulerInput(schedule)
      .replace("<aws.scheduler.schedule-arn>", `arn:aws:scheduler:eu-west-1:123456789012:schedule/default/pullkeeper-${schedule}`)
      .replace("<aws.scheduler.scheduled-time>", "2026-12-02T16:00:00Z")
      .replace("<aws.scheduler.execution-id>", "0b7c2f1e-3d4a-4b5c-8d9e-0f1a2b3c4d09"),
  );
}

describe.each(SCHEDULED)("fuzz: the %s function's scheduled invocation", (schedule, schema, details) => {
  const seeds = [...fixturesIn("shared/aws-events-scheduler"), fromScheduler(schedule), ...details.map((d) => scheduledEvent(d, "eu-west-1"))];
  it("yields an EventBridge envelope with an object detail, or an InvalidInputError", () => {
    fuzz(fc.oneof(eventLike, mutatedValue(seeds)), (event) => {
      const parsed = parsedOrRefused(() => parseWith(schema, event, `${schedule} event`) as { detail: unknown; source: unknown });
      if (parsed === undefined) return;
      // Reconcile reads nothing from its detail, so its schema (Powertools' envelope) takes any.
      if (schedule === "reconcile") return;
      check(typeof parsed.detail === "object" && parsed.detail !== null && !Array.isArray(parsed.detail), "detail is an object");
      check(typeof parsed.source === "string", "source is text");
      const ids = (parsed.detail as { registryIds?: unknown }).registryIds;
      check(ids === undefined || (Array.isArray(ids) && ids.length > 0 && ids.every((id) => typeof id === "string" && id !== "")), "registryIds are ids");
    });
  }, FUZZ_TIMEOUT_MS);
});

describe("fuzz: Secrets Manager rotation invocations (functions/rotate)", () => {
  const seeds = fixturesIn("shared/aws-rotation-lambda");
  it("yields a step for a secret with its request token, or an InvalidInputError", () => {
    fuzz(fc.oneof(eventLike, mutatedValue(seeds)), (event) => {
      const parsed = parsedOrRefused(() => parseWith(RotationEventSchema, event, "rotation event"));
      if (parsed === undefined) return;
      check(typeof parsed.SecretId === "string" && parsed.SecretId !== "", "a secret");
      check((ROTATION_STEPS as readonly string[]).includes(parsed.Step), "a known step");
      check(parsed.ClientRequestToken.length >= 32 && parsed.ClientRequestToken.length <= 64, "a request token");
    });
  }, FUZZ_TIMEOUT_MS);
});
