import { resolve } from "node:path";
import { requestJson } from "../local-http.js";
import { DEFAULT_PORT, findRunningRuntime, isAlive, readRuntimeFile } from "../runtime-file.js";

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
 * (it holds the DynamoDB store's lock): the one its runtime.json names, else one on the port.
 * Otherwise opens the state in this process for one command. The runtime is imported only then:
 * talking to a running one must not load dynalite, the AWS SDK and the functions.
 */
export async function connect(options: ClientOptions): Promise<ApiClient> {
  const stateDir = resolve(options.stateDir);
  const running = await findRunningRuntime(stateDir, options.port ?? DEFAULT_PORT);
  if (running !== undefined) {
    const { url, adminToken } = running;
    return {
      where: `running runtime at ${url}`,
      request: (method, path) => requestJson(method, `${url}${path}`, { headers: { authorization: `Bearer ${adminToken}` } }),
      close: async () => undefined,
    };
  }
  const { EmbeddedRuntime } = await import("../runtime.js");
  let runtime;
  try {
    runtime = await EmbeddedRuntime.start({ configPath: options.configPath, stateDir, serve: false, schedule: false, log: options.log });
  } catch (error) {
    const record = await readRuntimeFile(stateDir);
    if ((error as { code?: string }).code === "dynamo_store_in_use" && record !== undefined && isAlive(record.pid)) {
      throw new Error(`a runtime (process ${record.pid}, ${record.url}) holds ${stateDir} but does not answer on /healthz yet; wait for it to finish starting, or stop it`, { cause: error });
    }
    throw error;
  }
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
