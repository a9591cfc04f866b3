import type { PullkeeperConfig } from "../packages/core/src/config/config-document.js";
import { SECRET_CHANGE_PATTERNS } from "../packages/core/src/propagation/secret-change.js";

/**
 * The propagation flow's settings and its EventBridge rules, derived from pullkeeper.yaml.
 * Pure (no SST globals, no I/O): unit tested in test/infra/propagation-config.test.ts, used by
 * stacks/propagation.ts and stacks/propagation-permissions.ts.
 */

/**
 * How often SQS hands a delivery message to the deliver function before moving it to the
 * dead-letter queue (the redrive policy's `maxReceiveCount`). Only a handler that crashed lets a
 * message come back: a retryable failure is re-queued with a delay and acknowledged, so the DLQ
 * never ends the delivery of a current version (reconcile re-plans what it holds).
 */
export const DELIVERY_MAX_RECEIVES = 5;

/**
 * The deliver function's timeout. A delivery may wait up to 60 s for its provider's rate-limit
 * slot (DynamoRateLimiter's maxWaitMs) and 30 s for the target (PropagationService's delivery
 * timeout); the ten records of a batch run in parallel.
 */
export const DELIVER_TIMEOUT_SECONDS = 120;

/** AWS advises a visibility timeout of at least six times the function's timeout for an SQS event source. */
export const DELIVERY_VISIBILITY_TIMEOUT_SECONDS = 6 * DELIVER_TIMEOUT_SECONDS;

/** Messages per invocation (SQS's maximum without a batching window). */
export const DELIVERY_BATCH_SIZE = 10;

/**
 * At most this many deliver invocations at once (the event source mapping's maximum
 * concurrency): the shared rate limiter then queues ten workers, not hundreds.
 */
export const DELIVERY_MAX_CONCURRENCY = 10;

/** The delivery-age alarm fires when the oldest queued delivery is older than this. */
export const DELIVERY_AGE_ALARM_SECONDS = 15 * 60;

/** Dead letters are kept for the maximum SQS allows, so on-call can inspect and re-drive them. */
export const DEAD_LETTER_RETENTION_SECONDS = 14 * 24 * 60 * 60;

/** EventBridge's default quota for an event pattern's size, in characters. */
export const MAX_EVENT_PATTERN_CHARS = 2048;

export interface DeployLocation {
  readonly partition: string;
  readonly region: string;
  readonly account: string;
}

/** A secret the propagation flow watches: one that a registry with at least one consumer uses. */
export interface TrackedSecret {
  /** As written in `registries[].secret`: a name or an ARN. */
  readonly configured: string;
  /** `registries[i].secret` of the first registry that names it, for error messages. */
  readonly path: string;
  readonly name: string;
  /** The full ARN, when the config gives one. */
  readonly arn?: string;
  /** Where the secret lives; a name lives where the stack is deployed. */
  readonly location?: DeployLocation;
}

const SECRET_ARN = /^arn:([^:]+):secretsmanager:([^:]+):(\d{12}):secret:(.+)$/;
/** Secrets Manager ends every full ARN with "-" and six random characters. */
const RANDOM_SUFFIX = /-[A-Za-z0-9]{6}$/;

/**
 * The secrets of the registries that at least one consumer subscribes to, in config order,
 * each once. A registry without consumers has nothing to propagate (PropagationService returns
 * before it reads the secret), so its secret gets neither a rule nor a permission.
 */
export function trackedSecrets(config: PullkeeperConfig): TrackedSecret[] {
  const subscribed = new Set(config.consumers.map((c) => c.registry));
  const seen = new Set<string>();
  const secrets: TrackedSecret[] = [];
  config.registries.forEach((registry, i) => {
    if (!subscribed.has(registry.id) || seen.has(registry.secret)) return;
    seen.add(registry.secret);
    const path = `registries[${i}].secret`;
    const arn = SECRET_ARN.exec(registry.secret);
    if (!arn) {
      secrets.push({ configured: registry.secret, path, name: registry.secret });
      return;
    }
    const [, partition, region, account, resource] = arn as unknown as [string, string, string, string, string];
    // A full ARN ends in the random suffix; without one the config gave a partial ARN (the name).
    const full = RANDOM_SUFFIX.test(resource);
    secrets.push({
      configured: registry.secret,
      path,
      name: full ? resource.replace(RANDOM_SUFFIX, "") : resource,
      ...(full && { arn: registry.secret }),
      location: { partition, region, account },
    });
  });
  return secrets;
}

/** An EventBridge pattern value: exact, `prefix` or `exists` matching. */
export type PatternValue = string | { readonly prefix: string } | { readonly exists: boolean };
export interface EventPattern {
  readonly [field: string]: readonly PatternValue[] | EventPattern;
}

/** `arn:<partition>:secretsmanager:<region>:<account>:secret:<name>`, the secret's partial ARN. */
function partialArn(secret: TrackedSecret, at: DeployLocation): string {
  const where = secret.location ?? at;
  return `arn:${where.partition}:secretsmanager:${where.region}:${where.account}:secret:${secret.name}`;
}

/** Values that match the secret's full ARN: the ARN itself, or (for a name) any random suffix. */
function fullArnValues(secret: TrackedSecret, at: DeployLocation): PatternValue[] {
  return [secret.arn ?? { prefix: `${partialArn(secret, at)}-` }];
}

/**
 * Values that match `requestParameters.secretId` of an API call on the secret. A caller may
 * name a secret by its name, its partial ARN or its full ARN:
 * - the name, exactly — only when the secret lives where the stack is deployed: a bare name
 *   resolves in the caller's own account and region, and the default bus only receives calls
 *   made there, so elsewhere the name means another secret;
 * - the partial ARN, exactly;
 * - the full ARN: exactly when the config gives it; for a name, with `prefix` on
 *   `<partial ARN>-` because the six random characters are unknown until the secret exists.
 * The prefix also matches a secret whose name starts with this one and a dash
 * (`pullkeeper/hub-old`); such an event reaches the function, which finds it is not tracked
 * (`sameSecret`) and does nothing. EventBridge has no single-character wildcard to avoid that.
 */
function secretIdValues(secret: TrackedSecret, at: DeployLocation): PatternValue[] {
  const where = secret.location ?? at;
  const local = where.partition === at.partition && where.region === at.region && where.account === at.account;
  return [...(local ? [secret.name] : []), partialArn(secret, at), ...fullArnValues(secret, at)];
}

export type SecretRuleKind = "apiCalls" | "rotationSucceeded" | "labelUpdated";

/** One EventBridge rule for a kind of Secrets Manager event and a group of tracked secrets. */
export interface SecretChangeRule {
  /** The rule's logical name: SecretApiCalls, SecretApiCalls2, ... */
  readonly name: string;
  readonly kind: SecretRuleKind;
  readonly secrets: readonly TrackedSecret[];
}

const RULE_NAMES: Record<SecretRuleKind, string> = {
  apiCalls: "SecretApiCalls",
  rotationSucceeded: "SecretRotationSucceeded",
  labelUpdated: "SecretLabelUpdated",
};

/**
 * The rule's event pattern: the shared SECRET_CHANGE_PATTERNS entry, narrowed to its secrets
 * where that kind of event carries the secret:
 * - API calls: `detail.requestParameters.secretId`, as the caller typed it (see secretIdValues).
 *   An event whose whole requestParameters CloudTrail redacted carries no secretId and does not
 *   match; the scheduled reconcile catches such a change.
 * - RotationSucceeded: `detail.additionalEventData.SecretId`, always the full ARN (`resources` is empty).
 * - Secret Label Updated: `resources`, which holds the full ARN.
 */
export function secretChangePattern(rule: Pick<SecretChangeRule, "kind" | "secrets">, at: DeployLocation): EventPattern {
  const values = (f: (s: TrackedSecret, at: DeployLocation) => PatternValue[]) => rule.secrets.flatMap((s) => f(s, at));
  switch (rule.kind) {
    case "apiCalls": {
      const base = SECRET_CHANGE_PATTERNS.apiCalls;
      return { ...base, detail: { ...base.detail, requestParameters: { secretId: values(secretIdValues) } } };
    }
    case "rotationSucceeded": {
      const base = SECRET_CHANGE_PATTERNS.rotationSucceeded;
      return { ...base, detail: { ...base.detail, additionalEventData: { SecretId: values(fullArnValues) } } };
    }
    case "labelUpdated":
      return { ...SECRET_CHANGE_PATTERNS.labelUpdated, resources: values(fullArnValues) };
  }
}

/** The longest partition, region and account: the layout below holds wherever the stack is deployed. */
const WIDEST: DeployLocation = { partition: "x".repeat(10), region: "x".repeat(16), account: "0".repeat(12) };

/**
 * The rules for the Secrets Manager events on the default bus: one per kind, split into several
 * when the tracked secrets would make a pattern longer than EventBridge allows. The split is
 * decided here, without the deploy location (an SST Output), with the widest location, so the
 * set of rules is known when the stack declares them. No tracked secret, no rule.
 */
export function secretChangeRules(config: PullkeeperConfig): SecretChangeRule[] {
  const secrets = trackedSecrets(config);
  const rules: SecretChangeRule[] = [];
  for (const kind of Object.keys(RULE_NAMES) as SecretRuleKind[]) {
    let group: TrackedSecret[] = [];
    const flush = () => {
      if (group.length === 0) return;
      const n = rules.filter((r) => r.kind === kind).length + 1;
      rules.push({ name: n === 1 ? RULE_NAMES[kind] : `${RULE_NAMES[kind]}${n}`, kind, secrets: group });
      group = [];
    };
    for (const secret of secrets) {
      if (patternLength({ kind, secrets: [secret] }, WIDEST) > MAX_EVENT_PATTERN_CHARS) {
        throw new Error(`${secret.path}: "${secret.configured}" is too long for an EventBridge event pattern (${MAX_EVENT_PATTERN_CHARS} characters)`);
      }
      if (patternLength({ kind, secrets: [...group, secret] }, WIDEST) > MAX_EVENT_PATTERN_CHARS) flush();
      group.push(secret);
    }
    flush();
  }
  return rules;
}

function patternLength(rule: Pick<SecretChangeRule, "kind" | "secrets">, at: DeployLocation): number {
  return JSON.stringify(secretChangePattern(rule, at)).length;
}

/** Our own `Credential Rotated` events (refresh, rotation), on pullkeeper's bus. */
export const CREDENTIAL_ROTATED_PATTERN: EventPattern = SECRET_CHANGE_PATTERNS.credentialRotated;
