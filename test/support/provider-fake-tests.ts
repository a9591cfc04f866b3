import { expect } from "vitest";

/** What the provider fakes' tests read from an answer. */
export interface Answer {
  readonly status: number;
  readonly headers: Headers;
}

/** An answer with its body parsed as JSON (undefined when empty). */
export async function readAnswer(response: Response): Promise<{ status: number; body: unknown; headers: Headers }> {
  const text = await response.text();
  return { status: response.status, body: text === "" ? undefined : (JSON.parse(text) as unknown), headers: response.headers };
}

/**
 * The scripted-status walk the fakes' tests share, after `failNext(429 with Retry-After (matched
 * by `throttled`), 429, <serverError>)`: the matched request gets 429 with `retryAfter`, the next
 * one a bare 429, the one after that `serverError`.
 */
export async function expectScriptedStatuses(throttled: () => Promise<Answer>, next: () => Promise<Answer>, retryAfter: string, serverError: number): Promise<void> {
  const first = await throttled();
  expect(first.status).toBe(429);
  expect(first.headers.get("retry-after")).toBe(retryAfter);
  const bare = await next();
  expect(bare.status).toBe(429);
  expect(bare.headers.get("retry-after")).toBeNull();
  expect((await next()).status).toBe(serverError);
}

/** A scripted reset fails the request; a scripted hang leaves it to time out. */
export async function expectResetAndHang(fake: { failNext(...failures: ({ reset: true } | { hang: true })[]): void }, request: (signal?: AbortSignal) => Promise<unknown>): Promise<void> {
  fake.failNext({ reset: true });
  await expect(request()).rejects.toThrow();
  fake.failNext({ hang: true });
  await expect(request(AbortSignal.timeout(300))).rejects.toThrow(/abort|timeout/i);
}
