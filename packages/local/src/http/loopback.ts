import type { Server } from "node:http";
import type { AddressInfo } from "node:net";

/** Starts `server` on 127.0.0.1:`port` (0: a free one): the port it got and its http:// URL. Rejects when the port is taken. */
export async function listenOnLoopback(server: Server, port = 0): Promise<{ readonly port: number; readonly url: string }> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
  const bound = (server.address() as AddressInfo).port;
  return { port: bound, url: `http://127.0.0.1:${bound}` };
}

/**
 * Stops `server` accepting and resolves once its connections are gone: idle ones are closed at
 * once, busy ones get `graceMs` to finish their response (0: cut at once).
 */
export function closeServer(server: Server, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    server.closeIdleConnections();
    if (graceMs === 0) server.closeAllConnections();
    server.close(() => resolve());
    if (graceMs > 0) setTimeout(() => server.closeAllConnections(), graceMs).unref();
  });
}
