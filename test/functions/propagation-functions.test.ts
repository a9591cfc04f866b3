import type { Context, SQSEvent } from "aws-lambda";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { DeliveryError, parseConfig, type PropagationService, toDeliveryMessage } from "@pullkeeper/core";
import { describe, expect, it, vi } from "vitest";
import { ChangeMessageVisibilityCommand, SQSClient } from "@aws-sdk/client-sqs";
import { mockClient } from "aws-sdk-client-mock";
import { createDeliverHandler, sqsBackoff } from "../../functions/deliver.js";
import { createOnSecretChangeHandler } from "../../functions/on-secret-change.js";
import { createReconcileHandler } from "../../functions/reconcile.js";
import { fixture } from "../support/fixtures.js";

const context = { functionName: "f", awsRequestId: "r", getRemainingTimeInMillis: () => 60_000 } as unknown as Context;
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
  it("reports only the messages to retry, tells the service which receive is the last, and drops a malformed body", async () => {
    const deliver = vi.fn(async (r: typeof request, attempt: { number: number; final: boolean }) => {
      if (r.consumerId === "retry-me") throw new DeliveryError("unavailable", "503", { retryable: true });
      return { outcome: "delivered" as const, status: "delivered" as const, detail: `attempt ${attempt.number} final ${attempt.final}` };
    });
    const handler = createDeliverHandler(async () => ({ deliver }) as unknown as PropagationService);
    const ok = message(toDeliveryMessage(request), 5);
    const retry = message(toDeliveryMessage({ ...request, consumerId: "retry-me" }), 2);
    const junk = message("{not json");
    const out = await handler({ Records: [ok, retry, junk] } as unknown as SQSEvent, context);
    expect(out.batchItemFailures).toEqual([{ itemIdentifier: retry.messageId }]);
    expect(deliver).toHaveBeenCalledTimes(2);
    expect(deliver.mock.calls[0]?.[1]).toEqual({ number: 5, final: true });
    expect(deliver.mock.calls[1]?.[1]).toEqual({ number: 2, final: false });
  });

  it("backs a failed message off exponentially with jitter by moving its visibility timeout", async () => {
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
