import type { Wrap } from "./world.js";

/**
 * A process that dies at a step boundary, in-process: every adapter call is a step, and from the
 * chosen one on every call — including the ones the code makes in its catch and finally blocks —
 * fails, so nothing more reaches the durable state, as with a SIGKILL. Calls that only read are
 * logged but are not crash points: dying before a read is dying after the write before it.
 */

/** What a dead process "throws": never a PullkeeperError, so no code path takes it for a handled failure. */
export class Crash extends Error {
  override readonly name = "Crash";
}

const READS = new Set(["read", "describe", "list", "registryState", "listRegistries", "history", "consumerDelivery", "consumerDeliveries", "revocationStatus", "version", "discoveries", "environments", "verify", "provider", "schema", "kind"]);

export interface Step {
  readonly index: number;
  /** port.method, with the consumer it is about when there is one: "target.deliver(beta)". */
  readonly label: string;
}

export class CrashPoints {
  readonly steps: Step[] = [];
  #dead = false;

  /** `crashAt`: the index of the write step the process dies before (undefined: it never does). */
  constructor(readonly crashAt?: number) {}

  get crashed(): boolean {
    return this.#dead;
  }

  readonly wrap: Wrap = (port, adapter) =>
    new Proxy(adapter, {
      get: (target, prop, receiver) => {
        const value = Reflect.get(target, prop, receiver) as unknown;
        if (typeof value !== "function" || typeof prop !== "string") return value;
        return (...args: unknown[]) => {
          if (this.#dead) return Promise.reject(new Crash(`dead: ${port}.${prop} not called`));
          if (!READS.has(prop)) {
            const index = this.steps.length;
            this.steps.push({ index, label: `${port}.${prop}${about(args[0])}` });
            if (index === this.crashAt) {
              this.#dead = true;
              return Promise.reject(new Crash(`killed before ${port}.${prop}`));
            }
          }
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
}

function about(arg: unknown): string {
  if (arg === null || typeof arg !== "object") return "";
  const a = arg as { consumerId?: unknown; consumer?: { id?: unknown }; type?: unknown };
  const id = a.consumerId ?? a.consumer?.id;
  if (typeof id === "string") return `(${id})`;
  if (typeof a.type === "string") return `(${a.type})`;
  if (Array.isArray(arg) && arg.length > 0) return about(arg[0]);
  return "";
}
