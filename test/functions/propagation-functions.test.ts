import type { SQSEvent } from "aws-lambda";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import {
  type ConsumerDelivery,
  credential,
  DeliveryError,
  type DeliveryRequest,
  type DeliveryTarget,
  type Ledger,
  parseConfig,
  PropagationService,
  type StoredCredential,
  toDeliveryMessage,
  type Vault,
} from "@pullkeeper/core";
import { SqsDeliveryQueue } from "@pullkeeper/aws";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ChangeMessageVisibilityCommand, SendMessageBatchCommand, SQSClient } from "@aws-sdk/client-sqs";
import { mockClient } from "aws-sdk-client-mock";
import { createDeliverHandler, sqsBackoff } from "../../functions/deliver.js";
import { createOnSecretChangeHandler } from "../../functions/on-secret-change.js";
import { createReconcileHandler } from "../../functions/reconcile.js";
import { fixture } from "../support/fixtures.js";
import { lambdaContext } from "../support/lambda.js";

const context = lambdaContext("f", { awsRequestId: "r" });
const DIR = join(import.meta.dirname, "../fixtures/secretsmanager");
const load = (name: string) => JSON.parse(readFileSync(join(DIR, name), "utf8")) as unknown;

// Registries whose secrets appear in the real samples, so each sample meets a tracked secret.
const config = parseConfig(`
registries:
  - { id: esi, host: ghcr.io, kind: ghcr, source: { type: managed-secret }, secret: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/test-secret-123456" }
  - { id: blog, host: quay.io, kind: quay, source: { type: managed-secret }, secret: Appuser-pyodbc }
  - { id: docs, host: registry.gitlab.com, kind: gitlab, source: { type: managed-secret }, secret: mySecret }
`);

function onSecretChange() {
  const propagate = vi.fn(async (registryId: string) => ({ registryId, versionId: "v", requested: 1 }));
  const handler = createOnSecretChangeHandler(async () => ({ config, service: { propagate } as unknown as PropagationService }));
  return { handler, propagate };
}

describe("functions/on-secret-change over the event samples", () => {
  it("propagates the tracked secret named by each real sample, wherever the event kind carries it", async () => {
    const cases: [string, string][] = [
      ["putsecretvalue.esi-reloader-docs-2024-10-23.verbatim.json", "esi"],
      ["rotationsucceeded.aws-blog-2021-08-13.verbatim.json", "blog"],
      ["secret-label-updated.awsdocs-2024-02-06.verbatim.json", "docs"],
    ];
    for (const [file, registryId] of cases) {
      const { handler, propagate } = onSecretChange();
      expect(await handler(load(file), context), file).toMatchObject({ propagated: true, registryId });
      expect(propagate).toHaveBeenCalledWith(registryId);
    }
  });

  it("rejects every malformed sample with a clear reason and delivers nothing", async () => {
    const malformed = readdirSync(DIR).filter((f) => f.startsWith("malformed-"));
    expect(malformed.length).toBeGreaterThan(5);
    for (const file of malformed) {
      const { handler, propagate } = onSecretChange();
      const result = (await handler(load(file), context)) as { propagated: boolean; reason: string };
      expect(result.propagated, file).toBe(false);
      expect(result.reason, file).toMatch(/not valid|raw CloudTrail|expected|names no secret/);
      expect(propagate, file).not.toHaveBeenCalled();
    }
  });

  it("ignores what changes no current value, and secrets nobody tracks", async () => {
    for (const file of ["rotationfailed.umccr-2021-09-01.verbatim.json", "putsecretvalue.arn.errorcode.pullkeeper-written.json", "secret-label-updated.awsprevious.pullkeeper-written.json"]) {
      const { handler, propagate } = onSecretChange();
      expect(((await handler(load(file), context)) as { propagated: boolean }).propagated, file).toBe(false);
      expect(propagate).not.toHaveBeenCalled();
    }
    const { handler, propagate } = onSecretChange();
    expect(await handler(load("putsecretvalue.console.postmangovsg-2022-01-04.verbatim.json"), context)).toMatchObject({ propagated: false, reason: expect.stringMatching(/not tracked/) });
    expect(propagate).not.toHaveBeenCalled();
  });
});

const message = (body: string, receives = 1) => ({
  messageId: `m-${Math.random()}`, receiptHandle: "h", body, attributes: { ApproximateReceiveCount: String(receives) }, messageAttributes: {}, md5OfBody: "", eventSource: "aws:sqs", eventSourceARN: "arn", awsRegion: "eu-west-1",
});
const request = { consumerId: "c1", registryId: "esi", secretArn: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:s-AbCdEf", versionId: "v1", versionCreatedAt: new Date("2026-11-23T00:00:00Z") };

describe("functions/deliver", () => {
  it("reports only the messages whose handling crashed, tells the service which receive it is, and drops a malformed body", async () => {
    const deliver = vi.fn(async (r: typeof request, attempt: { number: number }) => {
      if (r.consumerId === "retry-me") throw new DeliveryError("unavailable", "ledger unreachable", { retryable: true });
      return { outcome: "delivered" as const, status: "delivered" as const, detail: `attempt ${attempt.number}` };
    });
    const handler = createDeliverHandler(async () => ({ deliver }) as unknown as PropagationService);
    const ok = message(toDeliveryMessage(request), 5);
    const retry = message(toDeliveryMessage({ ...request, consumerId: "retry-me" }), 2);
    const junk = message("{not json");
    const out = await handler({ Records: [ok, retry, junk] } as unknown as SQSEvent, context);
    expect(out.batchItemFailures).toEqual([{ itemIdentifier: retry.messageId }]);
    expect(deliver).toHaveBeenCalledTimes(2);
    expect(deliver.mock.calls[0]?.[1]).toEqual({ number: 5 });
    expect(deliver.mock.calls[1]?.[1]).toEqual({ number: 2 });
  });

  it("backs a message whose handling crashed off exponentially with jitter by moving its visibility timeout", async () => {
    const sqs = new SQSClient({ region: "eu-west-1" });
    const mock = mockClient(sqs);
    mock.on(ChangeMessageVisibilityCommand).resolves({});
    const deliver = vi.fn(async () => {
      throw new DeliveryError("unavailable", "503", { retryable: true });
    });
    const handler = createDeliverHandler(async () => ({ deliver }) as unknown as PropagationService, sqsBackoff({ client: sqs, queueUrl: "https://sqs/q", baseSeconds: 2, maxSeconds: 300 }));
    for (const receives of [1, 3, 9]) await handler({ Records: [message(toDeliveryMessage(request), receives)] } as unknown as SQSEvent, context);
    const timeouts = mock.commandCalls(ChangeMessageVisibilityCommand).map((c) => c.args[0].input);
    expect(timeouts.map((t) => t.QueueUrl)).toEqual(["https://sqs/q", "https://sqs/q", "https://sqs/q"]);
    expect(timeouts[0]?.VisibilityTimeout).toBeLessThan(4);
    expect(timeouts[1]?.VisibilityTimeout).toBeLessThan(16);
    expect(timeouts[2]?.VisibilityTimeout).toBeLessThan(300);
    expect(timeouts.every((t) => (t.VisibilityTimeout ?? -1) >= 0)).toBe(true);
  });
});

describe("functions/reconcile", () => {
  it("reconciles on the scheduled event and refuses anything else", async () => {
    const reconcile = vi.fn(async () => [{ registryId: "esi", requested: 2 }]);
    const handler = createReconcileHandler(async () => ({ reconcile }) as unknown as PropagationService);
    expect(await handler(fixture("aws-events-scheduler/scheduled-event.aws-lambda-docs.verbatim.json"), context)).toEqual([{ registryId: "esi", requested: 2 }]);
    await expect(handler({ hello: "world" }, context)).rejects.toThrow(/reconcile event is not valid/);
    expect(reconcile).toHaveBeenCalledTimes(1);
  });
});

// ---- the engine behind the deliver function: its retries on SQS, and what it logs ----------------

const SECRET = "pw-Secret-42-never-in-a-log";
const DELIVERY: DeliveryRequest = { consumerId: "c1", registryId: "esi", secretArn: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:s-AbCdEf", versionId: "v1", versionCreatedAt: new Date("2026-11-23T00:00:00Z") };

/** A real PropagationService with an in-memory ledger record and a target that does what `deliver` says. */
function engine(deliver: DeliveryTarget["deliver"], queue: PropagationService extends never ? never : ConstructorParameters<typeof PropagationService>[0]["queue"]) {
  let record: ConsumerDelivery | undefined;
  const stored: StoredCredential = { arn: DELIVERY.secretArn, versionId: "v1", stages: ["AWSCURRENT"], createdAt: DELIVERY.versionCreatedAt, credential: credential("robot", SECRET) };
  const ledger = {
    consumerDelivery: async () => record,
    appendHistory: async () => undefined,
    recordDelivered: async () => "recorded",
    recordAttemptFailed: async (_r: DeliveryRequest, e: { code: string; message: string }, final: boolean, at: Date, retry?: { nextAttemptAt: Date; counted: boolean }) => {
      const attempts = (record?.attempts ?? 0) + (final || retry?.counted !== false ? 1 : 0);
      record = { consumerId: "c1", registryId: "esi", state: final ? "failed" : "retrying", versionId: "v1", versionCreatedAt: DELIVERY.versionCreatedAt, attempts, lastError: { ...e, at }, ...(retry && { nextAttemptAt: retry.nextAttemptAt }), updatedAt: at };
      return "recorded";
    },
  } as unknown as Ledger;
  return new PropagationService({
    registries: config.registries,
    consumers: [{ id: "c1", registryId: "esi", target: { kind: "t" } }],
    targets: new Map([["t", { kind: "t", schema: undefined as never, provider: () => "p", deliver }]]),
    vault: { read: async () => stored } as unknown as Vault,
    ledger,
    queue,
    bus: { publish: async () => undefined },
    rateLimiter: { acquire: async () => undefined, pause: async () => undefined, pausedUntil: async () => undefined },
    clock: { now: () => new Date() },
  });
}

describe("functions/deliver on SQS: a retryable failure is queued again with a delay and the message acknowledged", () => {
  afterEach(() => vi.restoreAllMocks());

  it("re-queues with DelaySeconds for the next attempt (at most 900) and acks the message, also on its sixth receive; one that arrives early is only queued again", async () => {
    vi.spyOn(process.stdout, "write").mockImplementation(() => true);
    vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    const sqs = new SQSClient({ region: "eu-west-1" });
    const mock = mockClient(sqs);
    mock.on(SendMessageBatchCommand).resolves({ Successful: [{ Id: "0", MessageId: "m", MD5OfMessageBody: "x" }], Failed: [] });
    mock.on(ChangeMessageVisibilityCommand).resolves({});
    const delays = () => mock.commandCalls(SendMessageBatchCommand).map((c) => c.args[0].input.Entries?.[0]?.DelaySeconds);
    const throttledFor = (retryAfterMs: number) => {
      let called = 0;
      const service = engine(async () => {
        called += 1;
        throw new DeliveryError("throttled", "GitHub rate limit (429) hit", { retryable: true, retryAfterMs });
      }, new SqsDeliveryQueue({ queueUrl: "https://sqs/q", client: sqs }));
      return { handler: createDeliverHandler(async () => service, sqsBackoff({ client: sqs, queueUrl: "https://sqs/q" })), called: () => called };
    };

    // The sixth receive, past the queue's maxReceiveCount: SQS's count decides nothing any more.
    const short = throttledFor(200_000);
    const out = await short.handler({ Records: [message(toDeliveryMessage(DELIVERY), 6)] } as unknown as SQSEvent, context);
    expect(out.batchItemFailures).toEqual([]);
    expect(mock.commandCalls(ChangeMessageVisibilityCommand)).toHaveLength(0);
    expect(mock.commandCalls(SendMessageBatchCommand)[0]?.args[0].input).toMatchObject({ QueueUrl: "https://sqs/q", Entries: [{ MessageBody: toDeliveryMessage(DELIVERY) }] });
    expect(delays()[0]).toBeGreaterThanOrEqual(200);
    expect(delays()[0]).toBeLessThanOrEqual(202);

    // An hour's Retry-After: 15 minutes (SQS's longest delay); when that message arrives, 45 minutes
    // early, it is queued again for the rest without an attempt.
    mock.resetHistory();
    const long = throttledFor(3_600_000);
    await long.handler({ Records: [message(toDeliveryMessage(DELIVERY))] } as unknown as SQSEvent, context);
    await long.handler({ Records: [message(toDeliveryMessage(DELIVERY))] } as unknown as SQSEvent, context);
    expect(delays()).toEqual([900, 900]);
    expect(long.called()).toBe(1);
  });
});

describe("functions/deliver logs (issue 11, defect 4)", () => {
  let output = "";
  afterEach(() => vi.restoreAllMocks());
  // Powertools writes info lines to stdout, warnings and errors to stderr.
  const capture = () => {
    output = "";
    for (const stream of [process.stdout, process.stderr]) vi.spyOn(stream, "write").mockImplementation((chunk: unknown) => ((output += String(chunk)), true));
  };
  const lines = () => output.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Record<string, unknown>);

  it("a failure for good is logged at error with its code and reason; a retryable one at warn with code, reason, attempt and next attempt; never the value", async () => {
    capture();
    const queue = { send: vi.fn(async () => undefined) };
    const refused = createDeliverHandler(async () =>
      engine(async () => {
        throw new DeliveryError("unauthorized", "GitHub rejected the token (401); check the token secret holds a valid, unexpired token", { retryable: false });
      }, queue),
    );
    await refused({ Records: [message(toDeliveryMessage(DELIVERY))] } as unknown as SQSEvent, context);
    const throttled = createDeliverHandler(async () =>
      engine(async () => {
        throw new DeliveryError("throttled", "writing ACME_CONTAINER_REGISTRY_USER in repo acme/web: GitHub rate limit (429) hit; retry after 200s", { retryable: true, retryAfterMs: 200_000 });
      }, queue),
    );
    await throttled({ Records: [message(toDeliveryMessage(DELIVERY))] } as unknown as SQSEvent, context);

    const failed = lines().find((l) => l.message === "delivery failed");
    expect(failed).toMatchObject({ level: "ERROR", consumerId: "c1", versionId: "v1", errorCode: "unauthorized", reason: expect.stringContaining("GitHub rejected the token (401)"), attempts: 1 });
    const retry = lines().find((l) => l.message === "delivery will be retried");
    expect(retry).toMatchObject({ level: "WARN", consumerId: "c1", errorCode: "throttled", reason: expect.stringContaining("retry after 200s"), attempt: 1, nextAttemptAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) });
    expect(Date.parse(String(retry?.nextAttemptAt)) - Date.now()).toBeGreaterThan(190_000);
    expect(queue.send).toHaveBeenCalledTimes(1);
    expect(output).not.toContain(SECRET);
  });
});
