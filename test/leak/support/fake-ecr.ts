import { randomBytes } from "node:crypto";
import type { ServerResponse } from "node:http";
import { type LocalServer, type Received, startServer } from "../../support/http.js";

/**
 * ECR for the leak run: GetAuthorizationToken over the AWS JSON protocol (reached by the real SDK
 * through AWS_ENDPOINT_URL_ECR) mints a fresh 12-hour token per call, and a registry API stand-in
 * (the registry's verify endpoint) opens /v2/ to `AWS:<token>` for every token minted, as ECR does
 * until a token expires. Every minted password is kept: the leak search looks for each one.
 */
export interface FakeEcr {
  readonly api: LocalServer;
  readonly registry: LocalServer;
  /** Every password minted, in order. */
  readonly minted: string[];
  /** How many /v2/ requests each minted password opened (the registry accepted it). */
  readonly accepted: Map<string, number>;
  close(): Promise<void>;
}

export async function startFakeEcr(): Promise<FakeEcr> {
  const minted: string[] = [];
  const accepted = new Map<string, number>();
  const api = await startServer((req: Received, res: ServerResponse) => {
    if (req.headers["x-amz-target"] !== "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken") {
      res.writeHead(400, { "content-type": "application/x-amz-json-1.1" });
      res.end(JSON.stringify({ __type: "UnknownOperationException" }));
      return;
    }
    // Real tokens are long base64 blobs; this one carries ~ and / so base64url differs from base64.
    const password = `ecr~${randomBytes(24).toString("base64")}?`;
    minted.push(password);
    res.writeHead(200, { "content-type": "application/x-amz-json-1.1" });
    res.end(
      JSON.stringify({
        authorizationData: [{ authorizationToken: Buffer.from(`AWS:${password}`).toString("base64"), expiresAt: Date.now() / 1000 + 12 * 3600, proxyEndpoint: "https://123456789012.dkr.ecr.eu-west-1.amazonaws.com" }],
      }),
    );
  });
  const registry = await startServer((req: Received, res: ServerResponse) => {
    const header = req.headers.authorization ?? "";
    const login = header.startsWith("Basic ") ? Buffer.from(header.slice(6), "base64").toString("utf8") : "";
    const password = login.startsWith("AWS:") ? login.slice(4) : undefined;
    if (req.url.startsWith("/v2/") && password !== undefined && minted.includes(password)) {
      accepted.set(password, (accepted.get(password) ?? 0) + 1);
      res.writeHead(200, { "content-type": "application/json", "docker-distribution-api-version": "registry/2.0" });
      res.end("{}");
      return;
    }
    res.writeHead(401, { "www-authenticate": 'Basic realm="https://123456789012.dkr.ecr.eu-west-1.amazonaws.com/"', "content-type": "application/json" });
    res.end(JSON.stringify({ errors: [{ code: "UNAUTHORIZED", message: "authentication required" }] }));
  });
  return {
    api,
    registry,
    minted,
    accepted,
    close: async () => {
      await api.close();
      await registry.close();
    },
  };
}
