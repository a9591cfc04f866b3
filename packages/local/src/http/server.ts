import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from "aws-lambda";
import { timingSafeEqual } from "node:crypto";
import { createServer, type Server } from "node:http";
import { toApiGatewayEvent } from "./apigw-event.js";
import { closeServer, listenOnLoopback } from "./loopback.js";
import { InvalidInputError, parseCredential } from "@pullkeeper/core";
import type { LocalSecretWrites } from "../local-secrets.js";

export type ApiHandler = (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyStructuredResultV2>;

export interface LocalServerOptions {
  readonly port: number;
  readonly adminToken: string;
  readonly api: ApiHandler;
  /** What /healthz reports besides "ok". */
  readonly health: () => Record<string, unknown>;
  /** `PUT /local/v1/secrets/{name}`: `pullkeeper secret put` while this runtime holds the vault. */
  readonly secrets?: LocalSecretWrites;
}

/** Local-only routes: not part of the audit API, which also runs on AWS (where Secrets Manager takes these writes). */
export const LOCAL_SECRETS_PATH = "/local/v1/secrets/";
/** A registry login or a token is a few KiB at most; anything bigger is refused before it is parsed. */
const MAX_SECRET_BODY_BYTES = 64 * 1024;

export interface RunningServer {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

const context = { functionName: "pullkeeper-api-local", awsRequestId: "local", getRemainingTimeInMillis: () => 30_000 } as unknown as Context;

function json(status: number, body: unknown): APIGatewayProxyStructuredResultV2 {
  return { statusCode: status, headers: { "content-type": "application/json" }, body: JSON.stringify(body) };
}

/** Constant-time comparison, so the token cannot be guessed a byte at a time from response times. */
function authorized(header: string | undefined, token: string): boolean {
  const match = /^Bearer (.+)$/.exec(header ?? "");
  if (!match) return false;
  const given = Buffer.from(match[1] as string);
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** The answer names the version, never the value; errors never quote the body (it holds the value). */
async function putSecret(secrets: LocalSecretWrites, method: string, path: string, body: Buffer): Promise<APIGatewayProxyStructuredResultV2> {
  if (method !== "PUT") return json(405, { code: "method_not_allowed", message: `${method} ${LOCAL_SECRETS_PATH}{name}: only PUT` });
  if (body.length > MAX_SECRET_BODY_BYTES) return json(413, { code: "too_large", message: `a secret's body must be at most ${MAX_SECRET_BODY_BYTES} bytes` });
  let name: string;
  try {
    name = decodeURIComponent(path.slice(LOCAL_SECRETS_PATH.length));
  } catch {
    return json(400, { code: "invalid_input", message: "the secret name in the path is not valid percent-encoding" });
  }
  try {
    const written = await secrets.put(name, parseCredential(name, body.toString("utf8")));
    return json(200, written);
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (error instanceof InvalidInputError || code === "invalid_credential") return json(400, { code: code ?? "invalid_input", message: (error as Error).message });
    throw error;
  }
}

/**
 * The embedded HTTP server, on 127.0.0.1 only: /healthz open, every /v1 route behind the bearer
 * token (API Gateway's IAM authorization takes that place on AWS).
 */
export async function startLocalServer(options: LocalServerOptions): Promise<RunningServer> {
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      void (async () => {
        const path = new URL(req.url ?? "/", "http://127.0.0.1").pathname;
        let result: APIGatewayProxyStructuredResultV2;
        if (path === "/healthz") {
          result = json(200, { status: "ok", ...options.health() });
        } else if (req.method === "GET" && (path === "/" || path === "/dashboard.js")) {
          // The dashboard's page and script hold no data: it reads /v1 with the bearer token like any client.
          result = await options.api(toApiGatewayEvent(req, ""), context);
        } else if (path.startsWith(LOCAL_SECRETS_PATH) && options.secrets) {
          result = authorized(req.headers.authorization, options.adminToken)
            ? await putSecret(options.secrets, req.method ?? "", path, Buffer.concat(chunks))
            : json(401, { code: "unauthorized", message: "send Authorization: Bearer <token from .pullkeeper/admin-token>" });
        } else if (path === "/v1" || path.startsWith("/v1/")) {
          result = authorized(req.headers.authorization, options.adminToken)
            ? await options.api(toApiGatewayEvent(req, Buffer.concat(chunks).toString("utf8")), context)
            : json(401, { code: "unauthorized", message: "send Authorization: Bearer <token from .pullkeeper/admin-token>" });
        } else {
          result = json(404, { code: "not_found", message: `nothing at ${path}` });
        }
        res.writeHead(result.statusCode ?? 200, { ...(result.headers as Record<string, string>), "cache-control": "no-store" });
        res.end(result.body ?? "");
      })().catch(() => {
        res.writeHead(500, { "content-type": "application/json" });
        res.end(JSON.stringify({ code: "internal", message: "internal error" }));
      });
    });
  });
  const { port, url } = await listenOnLoopback(server, options.port);
  return {
    url,
    port,
    close: () => closeServer(server, 2_000),
  };
}
