import { expect, it } from "vitest";
import type { SourceWorld } from "./source-world.js";

/**
 * The faults every source's end-to-end test shows (issue 14's "Done means"): a wrong admin login,
 * throttling and an outage each fail the rotation with their own code, say which provider, never
 * show the credential, and leave the current credential current, delivered, working and untouched
 * at the provider; then a rotation goes through again.
 */
export interface ProviderFaults {
  /** The provider stops accepting the admin login in the vault. */
  rejectAdmin(): void | Promise<void>;
  /** …and accepts it again. */
  acceptAdmin(): void | Promise<void>;
  /** The next request answers 429 with this Retry-After. */
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

export const REFRESH_FAILURE: FailureShape = (answer) => {
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  const [result] = (answer.body.results ?? []) as { outcome?: string; code?: unknown; message?: unknown }[];
  expect(result?.outcome, JSON.stringify(answer.body)).toBe("failed");
  return { code: result?.code, message: result?.message };
};

export function sourceFaultTests(world: () => SourceWorld<unknown>, faults: ProviderFaults, provider: RegExp, failure: FailureShape = ROTATION_FAILURE): void {
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
    if (failure === REFRESH_FAILURE) {
      expect(again.body).toMatchObject({ results: [expect.objectContaining({ outcome: "refreshed" })] });
      const after = await w.current();
      expect(after.versionId).not.toBe(before.versionId);
      await w.allHold(after);
      expect(await w.opens(after)).toBe(200);
      return;
    }
    expect(again.body).toMatchObject({ outcome: "rotated" });
    const after = await w.current();
    expect(after.versionId).not.toBe(before.versionId);
    await w.allHold(after);
    await expect.poll(() => w.opens(before), { timeout: 30_000, interval: 200 }).toBe(401);
    expect(await w.opens(after)).toBe(200);
  });
}
