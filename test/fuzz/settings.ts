import fc from "fast-check";

/**
 * The fuzz suite's one knob: every property runs NUM_RUNS inputs from a fixed seed, so CI sees the
 * same inputs every time. A failure prints its seed and path; FUZZ_SEED and FUZZ_PATH replay it.
 */
export const NUM_RUNS = 10_000;
export const SEED = Number(process.env.FUZZ_SEED ?? 15_2026);
/** Per property: generous, because \`npm test\` shares the machine; the suite's speed is watched in the bench, not here. */
export const FUZZ_TIMEOUT_MS = 180_000;

/** fc.assert's parameters: the fixed seed, NUM_RUNS inputs, and the replay path when one is given. */
export function fuzzParams<T>(extra: fc.Parameters<T> = {}): fc.Parameters<T> {
  const path = process.env.FUZZ_PATH;
  return { seed: SEED, numRuns: NUM_RUNS, ...(path !== undefined && { path }), ...extra };
}

/** Runs a synchronous property; the test fails with fast-check's report (seed, path, counterexample). */
export function fuzz<T>(arbitrary: fc.Arbitrary<T>, check: (input: T) => void, extra: fc.Parameters<[T]> = {}): void {
  fc.assert(fc.property(arbitrary, check), fuzzParams(extra));
  assertPrototypesClean();
}

export async function fuzzAsync<T>(arbitrary: fc.Arbitrary<T>, check: (input: T) => Promise<void>, extra: fc.Parameters<[T]> = {}): Promise<void> {
  await fc.assert(fc.asyncProperty(arbitrary, check), fuzzParams(extra));
  assertPrototypesClean();
}

const OBJECT_KEYS = Object.getOwnPropertyNames(Object.prototype).sort().join(",");
const ARRAY_KEYS = Object.getOwnPropertyNames(Array.prototype).sort().join(",");

/** `__proto__` keys in the inputs must never reach a shared prototype. */
export function assertPrototypesClean(): void {
  const now = Object.getOwnPropertyNames(Object.prototype).sort().join(",");
  if (now !== OBJECT_KEYS) throw new Error(`Object.prototype was polluted: ${now}`);
  if (Object.getOwnPropertyNames(Array.prototype).sort().join(",") !== ARRAY_KEYS) throw new Error("Array.prototype was polluted");
}
