import { expect, it } from "vitest";
import type { SourceWorld, Version } from "./source-world.js";

/**
 * The faults every source's end-to-end test shows (issue 14's "Done means"): a wrong admin login,
 * throttling and an outage each fail the rotation with their own code, say which provider, never
 * show the credential or the admin secret, stage nothing, and leave the current credential current,
 * delivered, working and untouched at the provider; then a rotation goes through again.
 */
export interface ProviderFaults {
  /** The provider stops accepting the admin login in the vault. */
  rejectAdmin(): void | Promise<void>;
  /** …and accepts it again. */
  acceptAdmin(): void | Promise<void>;
  /** The next request answers 429 with this Retry-After (in seconds). */
  throttle(retryAfterSeconds: number): void;
  /** The next request answers 503. */
  outage(): void;
  /** What the provider holds (ids, slots, creation times): unchanged by a failed rotation. */
  snapshot(): unknown;
}

/**
 * How a failed rotation (or refresh) shows in the answer to POST …/refresh?force=true: a rotation
 * is a 502 {code, message}; a minting source's refresh answers 200 with the failure in its report.
 */
export type FailureShape = (answer: { status: number; body: Record<string, unknown> }) => { code: unknown; message: unknown };

export const ROTATION_FAILURE: FailureShape = (answer) => {
  expect(answer.status, JSON.stringify(answer.body)).toBe(502);
  return { code: answer.body.code, message: answer.body.message };
};

/** …and a minting source's refresh can fail only at the mint, its one provider step. */
export const REFRESH_FAILURE: FailureShape = (answer) => {
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  const [result] = (answer.body.results ?? []) as { outcome?: string; step?: string; code?: unknown; message?: unknown }[];
  expect(result?.outcome, JSON.stringify(answer.body)).toBe("failed");
  expect(result?.step, JSON.stringify(answer.body)).toBe("mint");
  return { code: result?.code, message: result?.message };
};

export interface FaultOptions<Fake> {
  /** The source mints (a refresh, not a rotation): failures show as REFRESH_FAILURE, and nothing is revoked. */
  readonly minting?: boolean;
  /** The source's own checks of the provider's state, once a rotation went through again after the faults (`previous`: the version before it). */
  readonly settled?: (world: SourceWorld<Fake>, previous: Version) => void | Promise<void>;
}

export function sourceFaultTests<Fake>(world: () => SourceWorld<Fake>, faults: ProviderFaults, provider: RegExp, { minting = false, settled }: FaultOptions<Fake> = {}): void {
  const failure = minting ? REFRESH_FAILURE : ROTATION_FAILURE;
  const cases = [
    { name: "a wrong admin login", code: "admin_rejected", arrange: () => faults.rejectAdmin(), restore: () => faults.acceptAdmin() },
    // The pause the Retry-After set in the shared limiter ends before the next case.
    { name: "throttling (429, Retry-After)", code: "provider_throttled", arrange: () => faults.throttle(2), restore: () => new Promise<void>((r) => setTimeout(r, 2_100)) },
    { name: "an outage (503)", code: "provider_unavailable", arrange: () => faults.outage(), restore: async () => undefined },
  ];
  for (const fault of cases) {
    it(`${fault.name}: the rotation fails as ${fault.code}, and the current credential stays current, delivered and working`, { timeout: 60_000 }, async () => {
      const w = world();
      const before = await w.current();
      const held = faults.snapshot();
      await fault.arrange();
      const answer = await w.rotate();
      await fault.restore();
      expect(failure(answer)).toMatchObject({ code: fault.code, message: expect.stringMatching(provider) });
      expect(JSON.stringify(answer.body).includes(before.password.reveal()), "the answer shows the credential").toBe(false);
      if (w.hasAdmin) expect(JSON.stringify(answer.body).includes(await w.adminPassword()), "the answer shows the admin secret").toBe(false);
      // Nothing staged but the current version: the next rotation starts afresh.
      expect((await w.pending())?.versionId ?? before.versionId, "a failed rotation left a version staged").toBe(before.versionId);
      const after = await w.current();
      expect(after.versionId).toBe(before.versionId);
      expect(await w.opens(after)).toBe(200);
      for (const consumer of ["laptop", "runner"]) expect((await w.held(consumer)).password === before.password.reveal(), `${consumer} still holds the current credential`).toBe(true);
      expect(faults.snapshot()).toEqual(held);
    });
  }

  it("after the faults, a rotation goes through again and the previous credential is revoked once unused (or, minted, expires)", { timeout: 120_000 }, async () => {
    const w = world();
    const before = await w.current();
    const again = await w.rotate();
    expect(again.status, JSON.stringify(again.body)).toBe(200);
    expect(again.body).toMatchObject(minting ? { results: [expect.objectContaining({ outcome: "refreshed" })] } : { outcome: "rotated" });
    const after = await w.current();
    expect(after.versionId).not.toBe(before.versionId);
    await w.allHold(after);
    if (!minting) {
      await expect.poll(() => w.opens(before), { timeout: 30_000, interval: 200 }).toBe(401);
      await w.revoked(before.versionId);
    }
    expect(await w.opens(after)).toBe(200);
    await settled?.(w, before);
  });
}

/** A fake that records when each request came, and each departure from its API description. */
interface RecordingFake {
  readonly requests: readonly { readonly at: number }[];
  readonly violations: readonly unknown[];
}

/**
 * The provider's bucket in the shared limiter: a Retry-After pauses it. A short one is waited out
 * before anything more is sent; a long one fails the next rotation unsent, as provider_throttled,
 * and leaves the current credential current and working. `throttle`: the fake's 429 (ProviderFaults').
 */
export function retryAfterTests(world: () => SourceWorld<RecordingFake>, throttle: ProviderFaults["throttle"], provider: RegExp): void {
  it(`a Retry-After pauses the provider's bucket in the shared limiter (${provider.source}): a short one is waited out before anything is sent, a long one fails the rotation unsent`, { timeout: 60_000 }, async () => {
    const w = world();
    // A rotation needs the previous credential revoked first (slots or not).
    const previous = (await w.runtime.ledger.registryState(w.id))?.previousVersionId;
    if (previous) await w.revoked(previous);
    throttle(3);
    expect((await w.rotate()).body).toMatchObject({ code: "provider_throttled", message: expect.stringMatching(provider) });
    const throttledAt = w.fake.requests.at(-1)?.at ?? 0;
    expect(await w.rotate()).toMatchObject({ status: 200, body: { outcome: "rotated" } });
    const firstAfter = w.fake.requests.find((r) => r.at > throttledAt);
    expect((firstAfter?.at ?? 0) - throttledAt).toBeGreaterThanOrEqual(2_500);

    const before = await w.current();
    // Again, one unrevoked previous credential at most (slots or not): the one just replaced goes first.
    const replaced = (await w.runtime.ledger.registryState(w.id))?.previousVersionId;
    if (replaced) await w.revoked(replaced);
    throttle(600);
    expect((await w.rotate()).body).toMatchObject({ code: "provider_throttled" });
    const sent = w.fake.requests.length;
    expect(await w.rotate()).toMatchObject({ status: 502, body: { code: "provider_throttled", message: expect.stringMatching(/not sent/) } });
    expect(w.fake.requests.length).toBe(sent);
    expect((await w.current()).versionId).toBe(before.versionId);
    expect(await w.opens(before)).toBe(200);
    expect(w.fake.violations).toEqual([]);
  });
}
