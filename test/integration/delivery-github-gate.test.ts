import { type Consumer, credential, type DeliveryContext, DeliveryError, type Registry } from "@pullkeeper/core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { githubTargets } from "../../packages/targets/src/github/index.js";
import { deliveryFailure } from "../support/delivery.js";
import { FakeGitHub } from "../support/fake-github.js";

/**
 * The GitHub client and the engine's provider gate (DeliveryContext.beforeWrite / pause), against
 * the GitHub stand-in: the three Codespaces secrets go out back to back through the gate, a
 * throttling answer pauses the provider the moment it arrives, and neither the rest of the
 * delivery nor Octokit's internal retries write through the pause.
 */

const TOKEN = "ghp_FAKEfakeFAKEfake0123456789abcdefABCD";
const PASSWORD = "dckr_pat_S3cr3t-v4lue-nobody-may-see_42";
const registry: Registry = { id: "acme", host: "registry.example.com", kind: "generic", source: { type: "managed-secret" }, secret: "pullkeeper/acme", verify: {} };

let github: FakeGitHub;
beforeEach(async () => {
  github = await FakeGitHub.start({ token: TOKEN });
});
afterEach(() => github.close());

/** A gate like the engine's: closed once paused, and it remembers what it was told. */
function gate() {
  let pausedUntil = 0;
  const pauses: number[] = [];
  let checks = 0;
  return {
    pauses,
    checks: () => checks,
    context(consumer: Consumer): DeliveryContext {
      return {
        consumer,
        registry,
        secretArn: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:pullkeeper/acme-AbCdEf",
        versionId: "v1",
        credential: credential("acme-bot", PASSWORD),
        beforeWrite: async () => {
          checks += 1;
          if (pausedUntil > Date.now()) throw new DeliveryError("paused", "github is paused", { retryable: true, retryAfterMs: pausedUntil - Date.now(), deferred: true });
        },
        pause: async (ms) => {
          pauses.push(ms);
          pausedUntil = Date.now() + ms;
        },
      };
    },
  };
}

const codespaces = () => githubTargets({ readCredential: async () => credential("x-access-token", TOKEN), retryBaseMs: 5 })[0];
const consumer: Consumer = { id: "web", registryId: "acme", target: { kind: "codespaces-secret", tokenSecret: "t", baseUrl: "", prefix: "ACME", scope: "repository", repository: "acme/web" } };
const withUrl = (): Consumer => ({ ...consumer, target: { ...consumer.target, baseUrl: github.url } });

describe("GitHub writes through the engine's gate", () => {
  it("asks the gate before every request and writes the three secrets back to back", async () => {
    const g = gate();
    await codespaces().deliver(g.context(withUrl()));
    expect(github.writes().map((w) => w.path.split("_").at(-1))).toEqual(["SERVER", "USER", "PASSWORD"]);
    // The public key, then each PUT.
    expect(g.checks()).toBe(4);
    expect(codespaces().writesPerDelivery()).toBe(3);
  });

  it("a 429 on the second secret pauses the provider at once and the third is never sent", async () => {
    const g = gate();
    github.rateLimitPuts([2], 30);
    const error = await deliveryFailure(codespaces().deliver(g.context(withUrl())));
    expect(error).toMatchObject({ code: "throttled", retryable: true, retryAfterMs: 30_000 });
    expect(g.pauses).toEqual([30_000]);
    expect(github.writes().map((w) => `${w.path.split("_").at(-1)} ${w.status}`)).toEqual(["SERVER 201", "USER 429"]);
  });

  it("a 503 with Retry-After pauses the provider, and Octokit's internal retry does not write through the pause", async () => {
    const g = gate();
    github.respond({ status: 503, headers: { "retry-after": "20" }, body: { message: "Service Unavailable" }, match: (r) => r.method === "PUT" });
    const error = await deliveryFailure(codespaces().deliver(g.context(withUrl())));
    expect(g.pauses).toEqual([20_000]);
    // Held back by the gate: a deferral, not a network error, and the retry never reached GitHub.
    expect(error).toMatchObject({ code: "paused", retryable: true, deferred: true });
    expect(github.writes()).toHaveLength(1);
  });

  it("a pause another worker set stops a delivery between its writes", async () => {
    const g = gate();
    const context = g.context(withUrl());
    let writes = 0;
    const stopAfterFirst: DeliveryContext = {
      ...context,
      beforeWrite: async () => {
        // The public key read, then SERVER; before USER another worker pauses GitHub.
        if (writes++ === 2) await context.pause?.(10_000);
        await context.beforeWrite?.();
      },
    };
    const error = await deliveryFailure(codespaces().deliver(stopAfterFirst));
    expect(error).toMatchObject({ code: "paused", deferred: true });
    expect(github.writes().map((w) => w.path.split("_").at(-1))).toEqual(["SERVER"]);
  });
});
