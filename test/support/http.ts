import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { closeServer, listenOnLoopback } from "../../packages/local/src/http/loopback.js";

export interface Received {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage["headers"];
  readonly body: string;
}

export interface LocalServer {
  readonly url: string;
  readonly received: Received[];
  close(): Promise<void>;
}

/** A loopback HTTP server that records what it receives and answers through `handle`. */
export async function startServer(handle: (req: Received, res: ServerResponse) => void | Promise<void>): Promise<LocalServer> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const r = { method: req.method ?? "", url: req.url ?? "", headers: req.headers, body: Buffer.concat(chunks).toString("utf8") };
      received.push(r);
      Promise.resolve(handle(r, res)).catch((e: unknown) => {
        res.statusCode = 500;
        res.end(String(e));
      });
    });
  });
  const { url } = await listenOnLoopback(server);
  return {
    url,
    received,
    close: () => closeServer(server, 0),
  };
}
