import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from "aws-lambda";
import { createHash, timingSafeEqual } from "node:crypto";
import { createServer, type Server } from "node:http";
import { toApiGatewayEvent } from "./apigw-event.js";
import { CHALLENGE, healthProof } from "./health-proof.js";
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

/** What /v1 takes: the API's bodies are a few hundred bytes; anything near this is not one of ours. */
const MAX_API_BODY_BYTES = 1024 * 1024;

/** Every answer's: no sniffing, no framing, no referrer. */
const SECURITY_HEADERS = { "x-content-type-options": "nosniff", "x-frame-options": "DENY", "referrer-policy": "no-referrer", "cache-control": "no-store" };

/**
 * The page's policy: its own script file only (no inline script at all), its one inline <style>
 * by hash, data only from this origin, and never inside a frame.
 */
function pagePolicy(html: string): string {
  const styles = [...html.matchAll(/<style>([\s\S]*?)<\/style>/g)].map((m) => `'sha256-${createHash("sha256").update(m[1] ?? "").digest("base64")}'`);
  return ["default-src 'none'", "script-src 'self'", `style-src ${styles.length > 0 ? styles.join(" ") : "'none'"}`, "img-src 'self' data:", "connect-src 'self'", "frame-ancestors 'none'", "base-uri 'none'", "form-action 'none'"].join("; ");
}

/** A Host naming this server on the loopback: a page elsewhere that rebinds its name to 127.0.0.1 still sends its own. */
function addressedHere(host: string | undefined, port: number): boolean {
  return host === `127.0.0.1:${port}` || host === `localhost:${port}` || host === `[::1]:${port}`;
}

const UNAUTHORIZED = json(401, { code: "unauthorized", message: "send Authorization: Bearer <token from .pullkeeper/admin-token>" });

/**
 * The embedded HTTP server, on 127.0.0.1 only: /healthz open, every /v1 route behind the bearer
 * token (API Gateway's IAM authorization takes that place on AWS). A request is judged on its
 * head — where it is addressed, its token, its declared length — before a byte of its body is read.
 */
export async function startLocalServer(options: LocalServerOptions): Promise<RunningServer> {
  let listening = 0;
  const server: Server = createServer((req, res) => {
    const send = (result: APIGatewayProxyStructuredResultV2, close = false) => {
      const headers: Record<string, string> = { ...(result.headers as Record<string, string>), ...SECURITY_HEADERS };
      if (headers["content-type"]?.startsWith("text/html")) headers["content-security-policy"] = pagePolicy(String(result.body ?? ""));
      // An answer given before the body was read ends the connection: the rest of the body is not read.
      if (close) headers.connection = "close";
      res.writeHead(result.statusCode ?? 200, headers);
      res.end(result.body ?? "");
      if (close) res.once("finish", () => req.socket.destroy());
    };
    const requested = new URL(req.url ?? "/", "http://127.0.0.1");
    const path = requested.pathname;
    if (!addressedHere(req.headers.host, listening)) {
      return send(json(421, { code: "misdirected", message: `this server answers only requests addressed to 127.0.0.1:${listening} or localhost:${listening}` }), true);
    }
    const secretsRoute = path.startsWith(LOCAL_SECRETS_PATH) && options.secrets !== undefined;
    const apiRoute = path === "/v1" || path.startsWith("/v1/");
    if ((secretsRoute || apiRoute) && !authorized(req.headers.authorization, options.adminToken)) return send(UNAUTHORIZED, true);
    const cap = secretsRoute ? MAX_SECRET_BODY_BYTES : MAX_API_BODY_BYTES;
    const tooLarge = json(413, { code: "too_large", message: `a request body must be at most ${cap} bytes` });
    if (Number(req.headers["content-length"] ?? 0) > cap) return send(tooLarge, true);

    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > cap && !refused) {
        refused = true;
        send(tooLarge, true);
      }
      if (!refused) chunks.push(c);
    });
    req.on("end", () => {
      if (refused) return;
      void (async () => {
        let result: APIGatewayProxyStructuredResultV2;
        if (path === "/healthz") {
          // With a challenge, the proof that this server holds the admin token (health-proof.ts), never the token.
          const challenge = requested.searchParams.get("challenge");
          result = json(200, { status: "ok", ...options.health(), ...(challenge !== null && CHALLENGE.test(challenge) && { proof: healthProof(options.adminToken, challenge) }) });
        } else if (req.method === "GET" && (path === "/" || path === "/dashboard.js")) {
          // The dashboard's page and script hold no data: it reads /v1 with the bearer token like any client.
          result = await options.api(toApiGatewayEvent(req, ""), context);
        } else if (secretsRoute && options.secrets) {
          result = await putSecret(options.secrets, req.method ?? "", path, Buffer.concat(chunks));
        } else if (apiRoute) {
          result = await options.api(toApiGatewayEvent(req, Buffer.concat(chunks).toString("utf8")), context);
        } else {
          result = json(404, { code: "not_found", message: `nothing at ${path}` });
        }
        send(result);
      })().catch(() => send(json(500, { code: "internal", message: "internal error" })));
    });
  });
  const { port, url } = await listenOnLoopback(server, options.port);
  listening = port;
  return {
    url,
    port,
    close: () => closeServer(server, 2_000),
  };
}
