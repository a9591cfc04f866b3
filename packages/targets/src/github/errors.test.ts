import { DeliveryError } from "@pullkeeper/core";
import { describe, expect, it } from "vitest";
import { githubDeliveryError, isStaleKeyError, githubFailure } from "./errors.js";

const NOW = Date.parse("2026-03-01T12:00:00Z");

/** The shape Octokit's RequestError has, with a request that must never leak. */
function requestError(status: number, data: unknown, headers: Record<string, string> = {}) {
  return Object.assign(new Error(`octokit message with body {"encrypted_value":"SEALED"} and Bearer ghp_token`), {
    status,
    request: { method: "PUT", url: "https://api.github.com/x", headers: { authorization: "Bearer ghp_token" }, body: '{"encrypted_value":"SEALED"}' },
    response: { status, url: "https://api.github.com/x", headers, data },
  });
}

describe("githubDeliveryError", () => {
  it.each([
    [401, {}, { message: "Bad credentials" }, "unauthorized", false],
    [403, {}, { message: "Must have admin rights to Repository." }, "forbidden", false],
    [404, {}, { message: "Not Found" }, "not_found", false],
    [422, {}, { message: "Validation Failed" }, "invalid_request", false],
    [410, {}, { message: "Gone" }, "invalid_request", false],
    [500, {}, { message: "Server Error" }, "unavailable", true],
    [503, {}, "", "unavailable", true],
    [429, { "retry-after": "3" }, { message: "Too Many Requests" }, "throttled", true],
  ] as const)("%i → %s", (status, headers, data, code, retryable) => {
    const e = githubDeliveryError(requestError(status, data, headers), "writing X in repo o/r", [], NOW);
    expect(e).toBeInstanceOf(DeliveryError);
    expect(e).toMatchObject({ code, retryable });
    expect(e.message).not.toContain("SEALED");
    expect(e.message).not.toContain("ghp_token");
    expect(e.cause).toBeUndefined();
  });

  it("secondary limit: throttled with Retry-After, on 403 and 429", () => {
    const body = { message: "You have exceeded a secondary rate limit. Please wait a few minutes before you try again." };
    expect(githubDeliveryError(requestError(403, body, { "retry-after": "90" }), "w", [], NOW)).toMatchObject({ code: "throttled", retryAfterMs: 90_000 });
    expect(githubDeliveryError(requestError(429, body, {}), "w", [], NOW)).toMatchObject({ code: "throttled", retryAfterMs: 60_000 });
  });

  it("primary limit: throttled until x-ratelimit-reset plus a second", () => {
    const reset = String(NOW / 1000 + 30);
    expect(githubDeliveryError(requestError(403, { message: "API rate limit exceeded" }, { "x-ratelimit-remaining": "0", "x-ratelimit-reset": reset }), "w", [], NOW)).toMatchObject({
      code: "throttled",
      retryAfterMs: 31_000,
    });
  });

  it("a network failure (Octokit's status 500 without a response) is unavailable", () => {
    const e = Object.assign(new Error("fetch failed"), { status: 500, request: {} });
    expect(githubDeliveryError(e, "w", [], NOW)).toMatchObject({ code: "unavailable", retryable: true });
    expect(githubDeliveryError(new TypeError("fetch failed"), "w", [], NOW).code).toBe("unavailable");
  });

  it("cuts known secrets out of GitHub's message and keeps it short", () => {
    const e = githubDeliveryError(requestError(422, { message: `value hunter2 is wrong ${"x".repeat(500)}` }), "w", ["hunter2"], NOW);
    expect(e.message).toContain("value [REDACTED] is wrong");
    expect(e.message.length).toBeLessThan(300);
  });

  it("recognizes GitHub's stale-key 422 and nothing else", () => {
    expect(isStaleKeyError(githubFailure(requestError(422, { message: "Bad request - the key_id does not match" })))).toBe(true);
    expect(isStaleKeyError(githubFailure(requestError(422, { message: "Validation Failed" })))).toBe(false);
    expect(isStaleKeyError(githubFailure(requestError(404, { message: "key not found" })))).toBe(false);
  });
});
