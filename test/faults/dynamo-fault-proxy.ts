import { interceptingProxy } from "../support/intercepting-proxy.js";

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
  let armed: { fault: DynamoFault; operations: readonly string[] } | undefined;
  const failed: string[] = [];
  const proxy = await interceptingProxy(
    upstream,
    (req, res) => {
      const operation = String(req.headers["x-amz-target"] ?? "").split(".")[1] ?? "";
      const fault = armed?.operations.includes(operation) === true ? armed.fault : undefined;
      if (fault === undefined) return false;
      failed.push(operation);
      if (fault.kind === "reset") req.socket.destroy();
      else if (fault.kind === "hang") req.resume();
      else {
        req.resume();
        res.writeHead(fault.status, { "content-type": "application/x-amz-json-1.0", "x-amzn-requestid": "FAULTS0000000000" });
        res.end(JSON.stringify({ __type: `com.amazonaws.dynamodb.v20120810#${fault.type}`, message: fault.message }));
      }
      return true;
    },
    { keepHost: true },
  );
  return {
    endpoint: proxy.url,
    arm: (fault, operations) => void (armed = { fault, operations }),
    clear: () => void (armed = undefined),
    failed,
    close: proxy.close,
  };
}
