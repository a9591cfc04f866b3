import { createServer, type IncomingMessage, request as httpRequest, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface InterceptingProxy {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/**
 * An HTTP proxy on 127.0.0.1 in front of a fake: `intercept` answers a request itself (a fault:
 * a status, a reset socket, no answer) by returning true; every other request is passed through
 * to `upstream` as it came (its Host rewritten to the upstream's unless `keepHost`).
 */
export async function interceptingProxy(upstream: string, intercept: (req: IncomingMessage, res: ServerResponse) => boolean, options: { readonly keepHost?: boolean } = {}): Promise<InterceptingProxy> {
  const target = new URL(upstream);
  const server = createServer((req, res) => {
    if (intercept(req, res)) return;
    const headers = options.keepHost ? req.headers : { ...req.headers, host: target.host };
    const forward = httpRequest({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    forward.on("error", () => res.destroy());
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
