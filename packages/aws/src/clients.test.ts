import { DynamoDBClient, ListTablesCommand } from "@aws-sdk/client-dynamodb";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { AWS_TIMEOUTS, clientOptions } from "./clients.js";

/** A loopback endpoint that takes every request and never answers: a hung AWS endpoint. */
async function hungEndpoint(): Promise<{ url: string; server: Server }> {
  const server = createServer(() => undefined);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

describe("clientOptions", () => {
  let server: Server | undefined;
  afterEach(async () => {
    server?.closeAllConnections();
    await new Promise((r) => server?.close(r) ?? r(undefined));
  });

  it("ends an attempt on a hung endpoint with the SDK's TimeoutError instead of waiting for the Lambda's own timeout", async () => {
    const hung = await hungEndpoint();
    server = hung.server;
    const client = new DynamoDBClient({ ...clientOptions("eu-west-1", { requestTimeoutMs: 300 }), maxAttempts: 1, endpoint: hung.url, credentials: { accessKeyId: "test", secretAccessKey: "test" } });
    // Without throwOnRequestTimeout the SDK only warns and this never settles (the test's own timeout fails it).
    await expect(client.send(new ListTablesCommand({}))).rejects.toMatchObject({ name: "TimeoutError" });
  });

  it("gives every client a connection and a request timeout by default", () => {
    expect(clientOptions().requestHandler).toEqual({ connectionTimeout: AWS_TIMEOUTS.connectionTimeoutMs, requestTimeout: AWS_TIMEOUTS.requestTimeoutMs, throwOnRequestTimeout: true });
    expect(AWS_TIMEOUTS.requestTimeoutMs).toBeLessThan(30_000);
  });
});
