import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { DEFAULT_PORT, EmbeddedRuntime } from "../runtime.js";

export interface ApiClient {
  request(method: string, path: string): Promise<{ status: number; body: unknown }>;
  close(): Promise<void>;
  /** Where the answers come from, said once so people know which state they see. */
  readonly where: string;
}

export interface ClientOptions {
  readonly configPath: string;
  readonly stateDir: string;
  readonly port?: number;
  readonly log: (line: string) => void;
}

/**
 * Talks to a running `pullkeeper dev` over HTTP when there is one for this state directory
 * (it holds the DynamoDB store's lock); otherwise opens the state in this process for one command.
 */
export async function connect(options: ClientOptions): Promise<ApiClient> {
  const stateDir = resolve(options.stateDir);
  const url = `http://127.0.0.1:${options.port ?? DEFAULT_PORT}`;
  const running = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1_000) })
    .then(async (r) => (r.ok ? ((await r.json()) as { stateDir?: string }) : undefined))
    .catch(() => undefined);
  if (running?.stateDir === stateDir) {
    const token = (await readFile(join(stateDir, "admin-token"), "utf8")).trim();
    return {
      where: `running runtime at ${url}`,
      request: async (method, path) => {
        const response = await fetch(`${url}${path}`, { method, headers: { authorization: `Bearer ${token}` } });
        return { status: response.status, body: await response.json() };
      },
      close: async () => undefined,
    };
  }
  const runtime = await EmbeddedRuntime.start({ configPath: options.configPath, stateDir, serve: false, schedule: false, log: options.log });
  const api = runtime.auditApi();
  return {
    where: "this process (no runtime is running for this state directory)",
    request: async (method, path) => {
      const parsed = new URL(path, "http://local");
      return api.handle({ method, path: parsed.pathname, query: Object.fromEntries(parsed.searchParams) });
    },
    close: () => runtime.stop(),
  };
}
