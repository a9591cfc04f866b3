import type { ServerResponse } from "node:http";
import { afterAll, afterEach, beforeAll, beforeEach, expect } from "vitest";
import { type CredentialRegistry, startCredentialRegistry } from "./credential-registry.js";
import type { Received } from "./http.js";
import { lateBound } from "./late-bound.js";

/**
 * What the provider stand-ins (fake-dockerhub, fake-harbor, fake-quay, fake-gitlab, fake-jfrog)
 * share: scripted failures, request bodies and recorded headers, JSON answers, and the vitest
 * lifecycle that puts a stand-in in front of a real credential registry.
 */

/** A scripted answer (harbor, quay): a status (with headers and body), a connection reset, or a hang. */
export interface ScriptedFailure {
  readonly status?: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: unknown;
  /** Destroy the socket instead of answering. */
  readonly reset?: boolean;
  /** Never answer (the connection is cut when the fake closes). */
  readonly hang?: boolean;
  /** Only requests this matches consume it; default the next request. The path as the fake's `requests` record it. */
  readonly match?: (request: { method: string; path: string }) => boolean;
}

export type RequestMatch = (request: { readonly method: string; readonly path: string }) => boolean;

/** A scripted answer (gitlab, jfrog): exactly one of a status, a reset, a hang. */
export type ScriptedOutcome =
  | { readonly status: number; readonly headers?: Readonly<Record<string, string>>; readonly body?: unknown; readonly match?: RequestMatch }
  | { readonly reset: true; readonly match?: RequestMatch }
  | { readonly hang: true; readonly match?: RequestMatch };

/** A request as harbor and quay record it. */
export interface RecordedRequest {
  readonly method: string;
  /** Path without the query (harbor: without /api/v2.0 too). */
  readonly path: string;
  readonly query: URLSearchParams;
  /** Headers as received, the Authorization header reduced to its scheme. */
  readonly headers: Received["headers"];
  /** The parsed body (harbor: any `secret` replaced by "<redacted>"). */
  readonly body: unknown;
  /** "METHOD <path template>", or undefined for a request no operation has. */
  readonly operation: string | undefined;
  readonly at: number;
  status: number;
}

/** A status answer as the fakes send it: `send(status, body, headers)`. */
export type Send = (status: number, body?: unknown, headers?: Readonly<Record<string, string>>) => void;

/** Any fake's scripted failure: a status answer, a reset (`reset: true` or `kind: "reset"`), a hang. */
interface Playable<M> {
  readonly status?: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: unknown;
  readonly reset?: boolean;
  readonly hang?: boolean;
  readonly kind?: "answer" | "reset" | "hang";
  readonly match?: (request: M) => boolean;
}

/** The queue behind `failNext()`, and the answers it holds back (hangs). */
export class FailureScript<F, M = { method: string; path: string }> {
  readonly #queue: F[] = [];
  readonly #hung = new Set<ServerResponse>();

  push(...failures: F[]): void {
    this.#queue.push(...failures);
  }

  get pending(): number {
    return this.#queue.length;
  }

  /** Drops scripted failures not used yet. */
  clear(): void {
    this.#queue.length = 0;
  }

  /** Cuts the connections of hung requests. */
  cutHung(): void {
    for (const res of this.#hung) res.socket?.destroy();
    this.#hung.clear();
  }

  /**
   * Plays the first failure `request` matches, if any: true when it did (the request is then
   * answered, reset or hung). A reset (and, with `hangStatus`, a hang) records status -1.
   */
  play(request: M, res: ServerResponse, record: { status: number }, send: Send, options: { hangStatus?: number; defaultBody?: (status: number) => unknown } = {}): boolean {
    const index = this.#queue.findIndex((f) => (f as Playable<M>).match?.(request) ?? true);
    if (index < 0) return false;
    const [failure] = this.#queue.splice(index, 1) as Playable<M>[];
    if (failure === undefined) return false;
    if (failure.kind === "reset" || failure.reset === true) {
      record.status = -1;
      res.socket?.destroy();
    } else if (failure.kind === "hang" || failure.hang === true) {
      if (options.hangStatus !== undefined) record.status = options.hangStatus;
      this.#hung.add(res);
      res.on("close", () => this.#hung.delete(res));
    } else {
      const status = failure.status ?? 500;
      send(status, failure.body ?? options.defaultBody?.(status), failure.headers);
    }
    return true;
  }
}

/** A request's body: parsed JSON, the raw text when it is not JSON, undefined when empty. */
export function parseBody(req: Received): unknown {
  if (req.body === "") return undefined;
  try {
    return JSON.parse(req.body) as unknown;
  } catch {
    return req.body;
  }
}

/** The headers as received, the Authorization header reduced to its scheme and `mark`. */
export function redactAuthorization(headers: Received["headers"], mark = "<redacted>"): Received["headers"] {
  const auth = headers.authorization;
  return { ...headers, ...(auth === undefined ? {} : { authorization: `${auth.split(" ")[0] ?? ""} ${mark}` }) };
}

/** A copy of an object body with the values under `keys` replaced by `mark`; anything else as is. */
export function redactFields(body: unknown, keys: readonly string[], mark = "<redacted>"): unknown {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return body;
  return Object.fromEntries(Object.entries(body).map(([k, v]) => [k, keys.includes(k) ? mark : v]));
}

/** `send` for a JSON API: records the status, answers `body` as JSON (none when undefined). */
export function jsonSender(res: ServerResponse, record: { status: number }, base: Readonly<Record<string, string>> = {}): Send {
  return (status, body, headers = {}) => {
    record.status = status;
    res.writeHead(status, { ...(body === undefined ? {} : { "content-type": "application/json" }), ...base, ...headers });
    res.end(body === undefined ? undefined : JSON.stringify(body));
  };
}

/** The checks after each test: no violation left, and (when the fake counts them) no scripted failure unconsumed. */
export function expectClean(fake: { takeViolations(): string[]; readonly pending?: number }): void {
  const pending = fake.pending;
  expect(fake.takeViolations()).toEqual([]);
  if (pending !== undefined) expect(pending, "scripted failures left unconsumed").toBe(0);
}

/**
 * Registers hooks for a test file: a credential registry and the fake `start` makes in front of
 * it (started before all, both stopped after all; the registry stopped too if the fake does not
 * start); `each.before`/`each.after` run around every test.
 */
export function useProviderFake<F, W extends object>(
  name: string,
  start: (registry: CredentialRegistry) => Promise<{ fake: F; world: W }>,
  hooks: { stop: (fake: F) => Promise<void>; before?: (fake: F) => Promise<void> | void; after?: (fake: F) => void },
): W {
  const world = lateBound<W>(name);
  let started: { fake: F; registry: CredentialRegistry } | undefined;
  beforeAll(async () => {
    const registry = await startCredentialRegistry();
    const made = await start(registry).catch(async (error: unknown) => {
      await registry.stop();
      throw error;
    });
    started = { fake: made.fake, registry };
    world.set(made.world);
  });
  afterAll(async () => {
    if (started === undefined) return;
    await hooks.stop(started.fake);
    await started.registry.stop();
  });
  if (hooks.before !== undefined) {
    const before = hooks.before;
    beforeEach(async () => {
      if (started !== undefined) await before(started.fake);
    });
  }
  if (hooks.after !== undefined) {
    const after = hooks.after;
    afterEach(() => {
      if (started !== undefined) after(started.fake);
    });
  }
  return world.view;
}
