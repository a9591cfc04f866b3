/**
 * A function's adapters, built on the first invocation rather than at import (a malformed event
 * is rejected before any client exists) and kept for the container's life. A build that fails is
 * forgotten, so the next invocation tries again instead of failing until the container is recycled.
 */
export function lazy<T>(build: () => T | Promise<T>): () => Promise<T> {
  let ready: Promise<T> | undefined;
  return () =>
    (ready ??= Promise.resolve()
      .then(build)
      .catch((error: unknown) => {
        ready = undefined;
        throw error;
      }));
}
