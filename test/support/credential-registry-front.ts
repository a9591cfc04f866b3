/** The HTTP front of the credential registry: forwards every request to the docker-registry, mapping shared logins to their htpasswd users. */
import { Agent, createServer, type IncomingHttpHeaders, type IncomingMessage, request, type ServerResponse } from "node:http";
import { closeServer, listenOnLoopback } from "../../packages/local/src/http/loopback.js";

/** One request the front passed on: no password, no Authorization header, no query. */
export interface ForwardedRequest {
  readonly method: string;
  /** Path without the query. */
  readonly path: string;
  /** The Basic username the registry was asked about (after mapping), undefined without a Basic login. */
  readonly user: string | undefined;
  /** The registry's status; 502 when it could not be reached (the only answer the front makes itself). */
  status: number;
}

export interface RegistryFront {
  /** http://127.0.0.1:<port> */
  readonly url: string;
  /** 127.0.0.1:<port> */
  readonly host: string;
  readonly forwarded: ForwardedRequest[];
  stop(): Promise<void>;
}

/**
 * Headers that belong to one connection, not to the request or answer they travel with. Transfer-Encoding
 * stays: Node re-frames a body it is asked to send chunked, and Content-Length is kept as is.
 */
const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection", "proxy-authenticate", "proxy-authorization", "te", "trailer", "upgrade"]);

/**
 * Starts a loopback server that streams every request to `target` (the docker-registry's
 * http://host:port) and streams the answer back: status, headers (the WWW-Authenticate challenge
 * too) and body. Host is passed on unchanged, so the upload locations the registry answers with
 * point back at the front. A Basic login `internalUser(user, password)` knows is sent on as that
 * internal htpasswd user with the same password; any other Authorization header is sent on as it
 * came. The registry decides every login: the front never answers a request on its own, except
 * 502 when the registry cannot be reached. Nothing is logged.
 */
export async function startRegistryFront(target: string, internalUser: (user: string, password: string) => string | undefined): Promise<RegistryFront> {
  const upstream = new URL(target);
  const agent = new Agent({ keepAlive: true });
  const forwarded: ForwardedRequest[] = [];

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const headers: IncomingHttpHeaders = {};
    for (const [name, value] of Object.entries(req.headers)) if (!HOP_BY_HOP.has(name)) headers[name] = value;
    const login = basicLogin(req.headers.authorization);
    let user = login?.user;
    if (login !== undefined) {
      const mapped = internalUser(login.user, login.password);
      if (mapped !== undefined) {
        user = mapped;
        headers.authorization = `Basic ${Buffer.from(`${mapped}:${login.password}`).toString("base64")}`;
      }
    }
    const record: ForwardedRequest = { method: req.method ?? "GET", path: (req.url ?? "/").split("?")[0] ?? "/", user, status: 0 };
    forwarded.push(record);

    const out = request({ agent, protocol: upstream.protocol, hostname: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers }, (answer) => {
      record.status = answer.statusCode ?? 502;
      const raw: string[] = [];
      for (let i = 0; i + 1 < answer.rawHeaders.length; i += 2) {
        const name = answer.rawHeaders[i] ?? "";
        if (!HOP_BY_HOP.has(name.toLowerCase())) raw.push(name, answer.rawHeaders[i + 1] ?? "");
      }
      res.writeHead(record.status, answer.statusMessage, raw);
      answer.pipe(res);
      answer.on("error", () => res.destroy());
    });
    out.on("error", () => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      record.status = 502;
      res.writeHead(502, { "content-type": "text/plain" }).end("the registry behind the front did not answer\n");
    });
    req.on("error", () => out.destroy());
    res.on("close", () => {
      if (!res.writableFinished) out.destroy();
    });
    req.pipe(out);
  });

  const { port, url } = await listenOnLoopback(server);
  return {
    url,
    host: `127.0.0.1:${port}`,
    forwarded,
    stop: async () => {
      await closeServer(server, 0);
      agent.destroy();
    },
  };
}

/** The user and password of a Basic Authorization header; undefined for anything else. */
function basicLogin(header: string | undefined): { user: string; password: string } | undefined {
  const encoded = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? "")?.[1];
  if (encoded === undefined) return undefined;
  const decoded = Buffer.from(encoded, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  return colon < 0 ? undefined : { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}
