import { createServer, request as httpRequest } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A fault-injecting HTTP proxy in front of dynalite on 127.0.0.1: every request goes through,
 * except those for the chosen operations (X-Amz-Target) while a fault is armed, which get it as
 * DynamoDB gives it on the wire: an error body the SDK parses (`__type`), a reset socket, or no
 * answer at all (the client's requestTimeout ends the wait).
 */

export type DynamoFault =
  | { readonly kind: "error"; readonly status: number; readonly type: string; readonly message: string }
  | { readonly kind: "reset" }
  | { readonly kind: "hang" };

export interface DynamoFaultProxy {
  readonly endpoint: string;
  arm(fault: DynamoFault, operations: readonly string[]): void;
  clear(): void;
  /** Operations that met the fault. */
  readonly failed: string[];
  close(): Promise<void>;
}

export async function dynamoFaultProxy(upstream: string): Promise<DynamoFaultProxy> {
  const target = new URL(upstream);
  let armed: { fault: DynamoFault; operations: readonly string[] } | undefined;
  const failed: string[] = [];
  const server = createServer((req, res) => {
    const operation = String(req.headers["x-amz-target"] ?? "").split(".")[1] ?? "";
    const fault = armed?.operations.includes(operation) === true ? armed.fault : undefined;
    if (fault !== undefined) failed.push(operation);
    if (fault?.kind === "reset") return void req.socket.destroy();
    if (fault?.kind === "hang") return void req.resume();
    if (fault?.kind === "error") {
      req.resume();
      res.writeHead(fault.status, { "content-type": "application/x-amz-json-1.0", "x-amzn-requestid": "FAULTS0000000000" });
      return void res.end(JSON.stringify({ __type: `com.amazonaws.dynamodb.v20120810#${fault.type}`, message: fault.message }));
    }
    const forward = httpRequest({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    forward.on("error", () => res.destroy());
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    arm: (fault, operations) => void (armed = { fault, operations }),
    clear: () => void (armed = undefined),
    failed,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
