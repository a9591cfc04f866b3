import * as z from "zod";
import { InvalidInputError } from "../model/errors.js";
import { EVENT_SOURCE } from "../model/events.js";
import { ROTATION_SUCCEEDED, SECRET_CHANGE_DETAIL_TYPES, SECRET_CHANGE_EVENT_NAMES, type SecretChangeEventName, SECRETS_MANAGER_SOURCE } from "./secret-change-patterns.js";
import { parseWith } from "../model/validation.js";

// Where the trigger's rules are defined; re-exported so importers of this module keep working.
export * from "./secret-change-patterns.js";

/**
 * Secret-change triggers: what the propagation function receives from EventBridge, reduced to
 * "which secret changed, and do we know the version". Pure: no I/O.
 *
 * Facts this parser respects (real samples in test/fixtures/secretsmanager/, sources in SOURCES.md):
 * - API calls (`AWS API Call via CloudTrail`) name the secret in `detail.requestParameters.secretId`
 *   as the caller typed it (a name, a partial or a full ARN); `responseElements` is often null, and
 *   older records spell the ARN key `aRN`. No sample carries the new version's id, and even when a
 *   response does (RotateSecret's is the AWSPENDING version) it is not necessarily AWSCURRENT: the
 *   caller looks the current version up (DescribeSecret).
 * - Rotation service events (`AWS Service Event via CloudTrail`) carry the ARN in
 *   `detail.additionalEventData.SecretId`; `resources` is empty, request/response are null.
 * - `Secret Label Updated` is native (not CloudTrail): ARN in `resources[0]`, `detail` =
 *   `{name, labelUpdated, versionId}`, so it names the version that became AWSCURRENT.
 * - CloudTrail redacts sensitive request parameters (`HIDDEN_DUE_TO_SECURITY_REASONS`, sometimes the
 *   whole `requestParameters`). Only named fields are picked out of it: it is never copied into a
 *   result or an error message, and neither is any zod input (zod messages name fields, not values).
 */

const CURRENT = "AWSCURRENT";
const REDACTED = "HIDDEN_DUE_TO_SECURITY_REASONS";

export type SecretChangeKind = "api-call" | "rotation" | "label-updated" | "credential-rotated";

export interface SecretChange {
  readonly kind: SecretChangeKind;
  /** The ARN when the event carries one, else the name or partial ARN as given: resolve it later. */
  readonly secretId: string;
  /**
   * Only when the event names the AWSCURRENT version for sure (Secret Label Updated for AWSCURRENT,
   * our own Credential Rotated). Otherwise look the current version up (DescribeSecret).
   */
  readonly versionId?: string;
  readonly eventName: SecretChangeEventName | typeof ROTATION_SUCCEEDED | "Secret Label Updated" | "Credential Rotated";
  /** The EventBridge event id (the envelope's `id`). */
  readonly eventId?: string;
  /** The EventBridge event time (ISO 8601). */
  readonly time?: string;
  /** Account and region the event came from: where a bare secret name must be resolved. */
  readonly account?: string;
  readonly region?: string;
  /** credential-rotated only. */
  readonly registryId?: string;
}

export interface SecretChanged {
  readonly changed: true;
  readonly change: SecretChange;
}

/** A well-formed event that changes no secret's current value; `reason` says why, for the log. */
export interface SecretChangeIgnored {
  readonly changed: false;
  readonly reason: string;
  readonly source: string;
  readonly detailType: string;
  readonly eventName?: string;
  /** Best effort, for the log line: present when the event names its secret in a well-formed way. */
  readonly secretId?: string;
  readonly eventId?: string;
}

export type SecretChangeResult = SecretChanged | SecretChangeIgnored;

const text = z.string().min(1);
/** CloudTrail may replace a whole parameter object by this marker: read it as "nothing given". */
const unredacted = (value: unknown): unknown => (value === REDACTED ? null : value);

const envelopeSchema = z.object({
  source: text,
  "detail-type": text,
  id: text.optional(),
  time: text.optional(),
  account: z.string().optional(),
  region: z.string().optional(),
  resources: z.array(text).optional(),
});

const apiCallHeadSchema = z.object({
  detail: z.object({ eventName: text, errorCode: z.string().nullish() }),
});

const apiCallIdsSchema = z.object({
  detail: z.object({
    requestParameters: z.preprocess(unredacted, z.object({ secretId: text.optional(), versionStage: text.optional() }).nullish()),
    responseElements: z.object({ arn: text.optional(), aRN: text.optional() }).nullish(),
  }),
});

const serviceEventHeadSchema = z.object({ detail: z.object({ eventName: text }) });

const serviceEventIdsSchema = z.object({
  resources: z.array(text).optional(),
  detail: z.object({ additionalEventData: z.object({ SecretId: text.optional() }).nullish() }),
});

const labelHeadSchema = z.object({ detail: z.object({ labelUpdated: text }) });

const labelCurrentSchema = z.object({
  resources: z.array(text).optional(),
  detail: z.object({ name: text.optional(), labelUpdated: z.literal(CURRENT), versionId: text }),
});

const credentialRotatedSchema = z.object({
  detail: z.object({
    registryId: text,
    secretArn: text.startsWith("arn:", "must be a secret ARN"),
    versionId: text,
    expiresAt: z.string().optional(),
  }),
});

type Envelope = z.output<typeof envelopeSchema>;

/**
 * Reads one EventBridge event. Returns the change, or why the event changes nothing; throws an
 * InvalidInputError naming the bad field when the event is malformed (including a raw CloudTrail
 * record, see `rejectUnwrapped`).
 */
export function parseSecretChange(event: unknown): SecretChangeResult {
  if (typeof event !== "object" || event === null || Array.isArray(event)) {
    const got = event === null ? "null" : Array.isArray(event) ? "an array" : typeof event;
    throw new InvalidInputError(`event is not valid: expected an EventBridge event (a JSON object), received ${got}`, [`(top level): expected object, received ${got}`]);
  }
  rejectUnwrapped(event as Record<string, unknown>);
  const envelope = parseWith(envelopeSchema, event, "event");
  const { source, "detail-type": detailType } = envelope;

  if (source === SECRETS_MANAGER_SOURCE) {
    switch (detailType) {
      case SECRET_CHANGE_DETAIL_TYPES.apiCall:
        return apiCall(event, envelope);
      case SECRET_CHANGE_DETAIL_TYPES.serviceEvent:
        return serviceEvent(event, envelope);
      case SECRET_CHANGE_DETAIL_TYPES.labelUpdated:
        return labelUpdated(event, envelope);
      default:
        return ignored(envelope, `Secrets Manager "${detailType}" events do not change a secret's current value`);
    }
  }
  if (source === EVENT_SOURCE) {
    if (detailType === SECRET_CHANGE_DETAIL_TYPES.credentialRotated) return credentialRotated(event, envelope);
    return ignored(envelope, `pullkeeper's own "${detailType}" event is not a credential change`);
  }
  return ignored(envelope, `events from source "${source}" are neither Secrets Manager nor pullkeeper events`);
}

/**
 * A raw CloudTrail record (top-level eventName with eventSource, eventType or eventVersion, and no
 * `source` / `detail-type`) is
 * rejected, not accepted. EventBridge always delivers the envelope (the record sits in `detail`),
 * and every rule in SECRET_CHANGE_PATTERNS matches on envelope fields; a raw record can only arrive
 * through a misconfigured trigger (a CloudTrail log pipeline, or an input transformer that unwraps
 * `detail`). Accepting it would hide that misconfiguration and bypass the rules' filters (the three
 * real raw samples are CreateSecret, DeleteSecret and RotationFailed: all things the rules exclude),
 * so the error says what arrived and where to look. Same for an SQS/SNS/S3 `Records` batch.
 */
function rejectUnwrapped(event: Record<string, unknown>): void {
  if ("source" in event || "detail-type" in event) return;
  const { eventSource, eventName, eventType, eventVersion } = event;
  const cloudTrailish = typeof eventSource === "string" || typeof eventType === "string" || typeof eventVersion === "string";
  if (typeof eventName === "string" && cloudTrailish) {
    const origin = typeof eventSource === "string" ? `eventSource ${token(eventSource)}, ` : "";
    const what = `a raw CloudTrail record (${origin}eventName ${token(eventName)})`;
    throw new InvalidInputError(
      `event is ${what}, not an EventBridge event: pullkeeper takes secret changes only from the EventBridge rules in SECRET_CHANGE_PATTERNS, which deliver the record inside "detail" with "source" and "detail-type". Check the trigger wiring (rule target, input transformer); the scheduled reconcile catches what was missed.`,
      [`source: missing (${what})`, `detail-type: missing (${what})`],
    );
  }
  if (Array.isArray(event.Records)) {
    throw new InvalidInputError(
      `event is a batch of Records (SQS, SNS or S3 notification), not an EventBridge event: unwrap each record's body before parsing it`,
      ["source: missing (a Records batch)", "detail-type: missing (a Records batch)"],
    );
  }
}

function apiCall(event: object, envelope: Envelope): SecretChangeResult {
  const { eventName, errorCode } = parseWith(apiCallHeadSchema, event, `Secrets Manager "${envelope["detail-type"]}" event`).detail;
  const idFor = () => bestEffort(apiCallIdsSchema, event, (d) => apiCallSecretId(d.detail));
  if (!isChangeEventName(eventName)) {
    return ignored(envelope, `${eventName} does not change a secret's current value (reacting to ${SECRET_CHANGE_EVENT_NAMES.join(", ")})`, eventName, idFor());
  }
  if (errorCode) {
    return ignored(envelope, `the ${eventName} call failed (errorCode ${token(errorCode)}): nothing changed`, eventName, idFor());
  }
  const detail = parseWith(apiCallIdsSchema, event, `Secrets Manager ${eventName} event`).detail;
  const stage = detail.requestParameters?.versionStage;
  if (eventName === "UpdateSecretVersionStage" && stage !== undefined && stage !== CURRENT) {
    return ignored(envelope, `UpdateSecretVersionStage moved the ${token(stage)} label, not ${CURRENT}: the current value did not change`, eventName, apiCallSecretId(detail));
  }
  const secretId = apiCallSecretId(detail);
  if (secretId === undefined) {
    const redacted = isRecord(event) && isRecord(event.detail) && event.detail.requestParameters === REDACTED;
    const fields = ["detail.requestParameters.secretId", "detail.responseElements.arn", "detail.responseElements.aRN"];
    throw new InvalidInputError(
      `Secrets Manager ${eventName} event names no secret: none of ${fields.join(", ")} is set${redacted ? " (CloudTrail redacted requestParameters)" : ""}`,
      fields.map((f) => `${f}: missing`),
    );
  }
  return changed({ kind: "api-call", secretId, eventName }, envelope);
}

/** The service's answer names the full ARN; the request names whatever the caller typed. */
function apiCallSecretId(detail: z.output<typeof apiCallIdsSchema>["detail"]): string | undefined {
  return detail.responseElements?.arn ?? detail.responseElements?.aRN ?? detail.requestParameters?.secretId;
}

function serviceEvent(event: object, envelope: Envelope): SecretChangeResult {
  const { eventName } = parseWith(serviceEventHeadSchema, event, `Secrets Manager "${envelope["detail-type"]}" event`).detail;
  const idFor = () => bestEffort(serviceEventIdsSchema, event, serviceEventSecretId);
  if (eventName !== ROTATION_SUCCEEDED) {
    const reason = eventName === "RotationFailed" ? "the rotation failed: AWSCURRENT did not move" : `${eventName} does not change a secret's current value (reacting to ${ROTATION_SUCCEEDED})`;
    return ignored(envelope, reason, eventName, idFor());
  }
  const secretId = serviceEventSecretId(parseWith(serviceEventIdsSchema, event, `Secrets Manager ${eventName} event`));
  if (secretId === undefined) {
    throw new InvalidInputError(`Secrets Manager ${eventName} event names no secret: detail.additionalEventData.SecretId is missing (and resources is empty)`, [
      "detail.additionalEventData.SecretId: missing",
    ]);
  }
  return changed({ kind: "rotation", secretId, eventName: ROTATION_SUCCEEDED }, envelope);
}

function serviceEventSecretId(parsed: z.output<typeof serviceEventIdsSchema>): string | undefined {
  return parsed.detail.additionalEventData?.SecretId ?? parsed.resources?.[0];
}

function labelUpdated(event: object, envelope: Envelope): SecretChangeResult {
  const eventName = SECRET_CHANGE_DETAIL_TYPES.labelUpdated;
  const { labelUpdated: label } = parseWith(labelHeadSchema, event, `${eventName} event`).detail;
  if (label !== CURRENT) {
    const secretId = envelope.resources?.[0];
    return ignored(envelope, `the ${token(label)} label moved, not ${CURRENT}: the current value did not change`, eventName, secretId);
  }
  const parsed = parseWith(labelCurrentSchema, event, `${eventName} event`);
  const secretId = parsed.resources?.[0] ?? parsed.detail.name;
  if (secretId === undefined) {
    throw new InvalidInputError(`${eventName} event names no secret: resources[0] (the secret ARN) and detail.name are both missing`, ["resources[0]: missing", "detail.name: missing"]);
  }
  return changed({ kind: "label-updated", secretId, versionId: parsed.detail.versionId, eventName }, envelope);
}

function credentialRotated(event: object, envelope: Envelope): SecretChangeResult {
  const { detail } = parseWith(credentialRotatedSchema, event, `pullkeeper Credential Rotated event`);
  return changed(
    { kind: "credential-rotated", secretId: detail.secretArn, versionId: detail.versionId, registryId: detail.registryId, eventName: "Credential Rotated" },
    envelope,
  );
}

function changed(change: Pick<SecretChange, "kind" | "secretId" | "eventName" | "versionId" | "registryId">, envelope: Envelope): SecretChanged {
  return {
    changed: true,
    change: {
      ...change,
      ...optional("eventId", envelope.id),
      ...optional("time", envelope.time),
      ...optional("account", envelope.account),
      ...optional("region", envelope.region),
    },
  };
}

function ignored(envelope: Envelope, reason: string, eventName?: string, secretId?: string): SecretChangeIgnored {
  return {
    changed: false,
    reason,
    source: envelope.source,
    detailType: envelope["detail-type"],
    ...optional("eventName", eventName),
    ...optional("secretId", secretId),
    ...optional("eventId", envelope.id),
  };
}

function bestEffort<S extends z.ZodType>(schema: S, input: unknown, pick: (parsed: z.output<S>) => string | undefined): string | undefined {
  const parsed = schema.safeParse(input);
  return parsed.success ? pick(parsed.data) : undefined;
}

function isChangeEventName(name: string): name is SecretChangeEventName {
  return (SECRET_CHANGE_EVENT_NAMES as readonly string[]).includes(name);
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** An identifier-like string from the event, bounded for an error message or log line. */
function token(value: string): string {
  return value.length > 128 ? `${value.slice(0, 128)}…` : value;
}
