import type { HttpRequest } from "@smithy/types";

/**
 * Counts the AWS API calls a client makes, by a middleware on its own stack: one count per HTTP
 * attempt (it runs inside the SDK's retry), under "<service>.<command>". Stand-ins answer at the
 * HTTP level (answerWith), so the whole middleware stack runs — aws-sdk-client-mock replaces
 * `send` and would bypass what is counted.
 */
export class AwsCallCounter {
  readonly #counts = new Map<string, number>();

  count<C extends { middlewareStack: { add: (...args: never[]) => void } }>(service: string, client: C): C {
    const add = client.middlewareStack.add as unknown as (
      middleware: (next: (args: unknown) => Promise<unknown>, context: { commandName?: string }) => (args: unknown) => Promise<unknown>,
      options: { step: string; priority: string; name: string },
    ) => void;
    add(
      (next, context) => async (args) => {
        const key = `${service}.${(context.commandName ?? "unknown").replace(/Command$/, "")}`;
        this.#counts.set(key, (this.#counts.get(key) ?? 0) + 1);
        return next(args);
      },
      { step: "finalizeRequest", priority: "low", name: "pullkeeperCallCounter" },
    );
    return client;
  }

  /** Calls of `service.Command`, or of every command of `service` when no command is named. */
  calls(name: string): number {
    if (name.includes(".")) return this.#counts.get(name) ?? 0;
    return [...this.#counts].filter(([k]) => k.startsWith(`${name}.`)).reduce((sum, [, n]) => sum + n, 0);
  }

  snapshot(): Record<string, number> {
    return Object.fromEntries([...this.#counts].sort(([a], [b]) => a.localeCompare(b)));
  }

  reset(): void {
    this.#counts.clear();
  }
}

export interface StubAnswer {
  readonly status?: number;
  readonly body: string;
  readonly contentType?: string;
}

/**
 * An SDK requestHandler answering in process: `answer` gets the operation (X-Amz-Target's
 * operation, or a Query protocol's Action) and the parsed body.
 */
export function answerWith(answer: (operation: string, input: Record<string, unknown>) => Promise<StubAnswer> | StubAnswer) {
  return {
    async handle(request: HttpRequest) {
      const body: unknown = request.body;
      const text = typeof body === "string" ? body : body === undefined ? "" : new TextDecoder().decode(body as Uint8Array);
      const target = request.headers["x-amz-target"];
      let operation: string;
      let input: Record<string, unknown>;
      if (target !== undefined) {
        operation = target.split(".").pop() as string;
        input = text === "" ? {} : (JSON.parse(text) as Record<string, unknown>);
      } else {
        const form = new URLSearchParams(text);
        operation = form.get("Action") ?? "";
        input = Object.fromEntries(form);
      }
      const out = await answer(operation, input);
      return {
        response: {
          statusCode: out.status ?? 200,
          headers: { "content-type": out.contentType ?? "application/x-amz-json-1.1" },
          body: new TextEncoder().encode(out.body),
        },
      };
    },
    updateHttpClientConfig() {},
    httpHandlerConfigs: () => ({}),
    destroy() {},
  };
}

/** A JSON protocol's output: Dates as epoch seconds, as the services send them. */
export function awsJson(value: unknown): string {
  const plain = (v: unknown): unknown => {
    if (v instanceof Date) return v.getTime() / 1000;
    if (Array.isArray(v)) return v.map(plain);
    if (v !== null && typeof v === "object") return Object.fromEntries(Object.entries(v).filter(([k]) => k !== "$metadata").map(([k, x]) => [k, plain(x)]));
    return v;
  };
  return JSON.stringify(plain(value));
}
