import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { credential, type VerifyRequest } from "@pullkeeper/core";
import { afterEach, describe, expect, it } from "vitest";
import { parseChallenges } from "./challenge.js";
import { RegistryV2Verifier } from "./verifier.js";

const USER = "alice";
const PASSWORD = "pa55-word-never-logged";
const BASIC = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString("base64")}`;
const TOKEN = "registry-token-xyz";

interface Seen {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly authorization: string | undefined;
  readonly accept: string | undefined;
}

interface Fake {
  readonly host: string;
  readonly url: string;
  readonly seen: Seen[];
}

type Handler = (req: IncomingMessage, res: ServerResponse, seen: Seen) => void;

const servers: Server[] = [];

afterEach(async () => {
  await Promise.all(
    servers.splice(0).map(
      (server) =>
        new Promise<void>((resolve) => {
          // Drops the connections a hanging handler keeps open, or close() would wait for them.
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    ),
  );
});

async function serve(handler: Handler): Promise<Fake> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const request: Seen = {
      method: req.method ?? "",
      path: url.pathname,
      query: url.searchParams,
      authorization: req.headers.authorization,
      accept: req.headers.accept,
    };
    seen.push(request);
    handler(req, res, request);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { host, url: `http://${host}`, seen };
}

function reply(res: ServerResponse, status: number, body: unknown = {}, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(typeof body === "string" ? body : JSON.stringify(body));
}

const v2Error = (code: string, message: string): unknown => ({ errors: [{ code, message, detail: null }] });

function request(host: string, extra: Partial<VerifyRequest> = {}): VerifyRequest {
  return { host, credential: credential(USER, PASSWORD), endpoint: `http://${host}`, ...extra };
}

const verifier = new RegistryV2Verifier({ timeoutMs: 2_000 });

describe("RegistryV2Verifier", () => {
  it("follows a Bearer challenge: Basic login at the realm, then the token on /v2/ and the canary", async () => {
    const registry = await serve((req, res, seen) => {
      const bearer = `Bearer realm="http://${req.headers.host}/token",service="fake registry, v2"`;
      if (seen.path === "/token") {
        if (seen.authorization !== BASIC) return reply(res, 401, { details: "bad login" });
        return reply(res, 200, { token: TOKEN, expires_in: 300 });
      }
      if (seen.authorization !== `Bearer ${TOKEN}`) return reply(res, 401, v2Error("UNAUTHORIZED", "nope"), { "www-authenticate": bearer });
      reply(res, 200);
    });

    const result = await verifier.verify(request(registry.host, { canary: { repository: "team/app", reference: "v1" } }));

    expect(result).toMatchObject({ status: "ok" });
    expect(result.detail).toContain("Bearer");
    expect(result.detail).toContain("team/app:v1 found");
    expect(registry.seen.map((s) => `${s.method} ${s.path}`)).toEqual([
      "GET /v2/",
      "GET /token",
      "GET /v2/",
      "HEAD /v2/team/app/manifests/v1",
    ]);
    const token = registry.seen[1];
    expect(token?.query.get("service")).toBe("fake registry, v2");
    expect(token?.query.getAll("scope")).toEqual(["repository:team/app:pull"]);
    expect(token?.query.get("account")).toBe(USER);
    expect(registry.seen[0]?.authorization).toBeUndefined();
    const head = registry.seen[3];
    expect(head?.authorization).toBe(`Bearer ${TOKEN}`);
    expect(head?.accept).toContain("application/vnd.oci.image.index.v1+json");
    expect(head?.accept).toContain("application/vnd.docker.distribution.manifest.v2+json");
  });

  it("reads access_token and passes the challenge's own scope, commas and all", async () => {
    const registry = await serve((req, res, seen) => {
      if (seen.path === "/auth") return reply(res, 200, { access_token: TOKEN });
      if (seen.authorization === `Bearer ${TOKEN}`) return reply(res, 200);
      reply(res, 401, {}, {
        "www-authenticate": `Bearer realm="http://${req.headers.host}/auth?x=1",service="svc",scope="repository:a/b:pull,push"`,
      });
    });

    const result = await verifier.verify(request(registry.host));

    expect(result.status).toBe("ok");
    const token = registry.seen[1];
    expect(token?.path).toBe("/auth");
    expect(token?.query.get("x")).toBe("1");
    expect(token?.query.getAll("scope")).toEqual(["repository:a/b:pull,push"]);
    expect(token?.authorization).toBe(BASIC);
  });

  it("says unauthorized when the token endpoint refuses the login, and stops there", async () => {
    const registry = await serve((req, res, seen) => {
      if (seen.path === "/token") return reply(res, 401, { details: "incorrect username or password" });
      reply(res, 401, {}, { "www-authenticate": `Bearer realm="http://${req.headers.host}/token",service="svc"` });
    });

    const result = await verifier.verify(request(registry.host));

    expect(result.status).toBe("unauthorized");
    expect(result.detail).toContain("token request");
    expect(result.detail).toContain("incorrect username or password");
    expect(registry.seen).toHaveLength(2);
  });

  it("says expired for ECR's 403 on an expired token", async () => {
    const registry = await serve((_req, res, seen) => {
      if (seen.authorization === undefined) {
        return reply(res, 401, {}, { "www-authenticate": 'Basic realm="https://123456789012.dkr.ecr.eu-west-1.amazonaws.com/",service="ecr.amazonaws.com"' });
      }
      reply(res, 403, v2Error("DENIED", "Your authorization token has expired. Reauthenticate and try again."));
    });

    const result = await verifier.verify(request(registry.host));

    expect(result.status).toBe("expired");
    expect(result.detail).toContain("Your authorization token has expired");
    expect(registry.seen[1]?.authorization).toBe(BASIC);
  });

  it("says unauthorized for a 403 that is not about expiry", async () => {
    const registry = await serve((_req, res, seen) => {
      if (seen.authorization === undefined) return reply(res, 401, {}, { "www-authenticate": 'Basic realm="r"' });
      reply(res, 403, v2Error("DENIED", "requested access to the resource is denied"));
    });

    expect((await verifier.verify(request(registry.host))).status).toBe("unauthorized");
  });

  it("says expired for ECR Public's 400 from its token endpoint", async () => {
    const local = await serve((_req, res, seen) => {
      if (seen.path === "/token/") return reply(res, 400, v2Error("DENIED", "bad request"));
      reply(res, 401, {}, { "www-authenticate": 'Bearer realm="https://public.ecr.aws/token/",service="public.ecr.aws",scope="aws"' });
    });
    // Lets the verifier believe it talks to public.ecr.aws while the bytes go to the local fake.
    const viaLocal: typeof fetch = (input, init) => fetch(String(input).replace("https://public.ecr.aws", local.url), init);
    const ecrPublic = new RegistryV2Verifier({ fetch: viaLocal, timeoutMs: 2_000 });

    const result = await ecrPublic.verify({ host: "public.ecr.aws", credential: credential("AWS", PASSWORD) });

    expect(result.status).toBe("expired");
    expect(local.seen[1]?.query.get("scope")).toBe("aws");
  });

  it("says expired for a 400 whose body mentions expiry, unreachable for another 400", async () => {
    const expiredBody = await serve((_req, res) => reply(res, 400, { message: "token expired" }));
    const otherBody = await serve((_req, res) => reply(res, 400, { message: "bad request" }));

    expect((await verifier.verify(request(expiredBody.host))).status).toBe("expired");
    expect((await verifier.verify(request(otherBody.host))).status).toBe("unreachable");
  });

  it("says unreachable for a 503", async () => {
    const registry = await serve((_req, res) => reply(res, 503, "upstream unavailable"));

    const result = await verifier.verify(request(registry.host));

    expect(result.status).toBe("unreachable");
    expect(result.detail).toContain("503");
  });

  it("says unreachable for a closed port", async () => {
    const gone = await serve(() => undefined);
    const server = servers.pop();
    await new Promise((resolve) => server?.close(resolve));

    const result = await verifier.verify(request(gone.host));

    expect(result.status).toBe("unreachable");
    expect(result.detail).toContain("ECONNREFUSED");
  });

  it("says unreachable when the registry does not answer in time", async () => {
    const silent = await serve(() => undefined);
    const impatient = new RegistryV2Verifier({ timeoutMs: 200 });

    const started = Date.now();
    const result = await impatient.verify(request(silent.host));

    expect(result.status).toBe("unreachable");
    expect(result.detail).toContain("did not answer within 200 ms");
    expect(Date.now() - started).toBeLessThan(1_500);
  });

  it("says unreachable, naming the scheme, for a challenge it cannot follow", async () => {
    const registry = await serve((_req, res) => reply(res, 401, {}, { "www-authenticate": 'Negotiate realm="corp"' }));

    const result = await verifier.verify(request(registry.host));

    expect(result.status).toBe("unreachable");
    expect(result.detail).toContain("negotiate");
  });

  it("reports an open registry as ok, and says so", async () => {
    const registry = await serve((_req, res) => reply(res, 200));

    const result = await verifier.verify(request(registry.host));

    expect(result.status).toBe("ok");
    expect(result.detail).toContain("open");
    expect(registry.seen[0]?.authorization).toBeUndefined();
  });

  it("says unreachable, not found, for a missing canary", async () => {
    const registry = await serve((_req, res, seen) => {
      if (seen.authorization === undefined) return reply(res, 401, {}, { "www-authenticate": 'Basic realm="r"' });
      reply(res, seen.method === "HEAD" ? 404 : 200);
    });

    const result = await verifier.verify(request(registry.host, { canary: { repository: "gone", reference: "latest" } }));

    expect(result.status).toBe("unreachable");
    expect(result.detail).toContain("gone:latest was not found");
  });

  it("refuses to send the login to a plain-HTTP realm of an HTTPS registry", async () => {
    const local = await serve((_req, res) => reply(res, 401, {}, { "www-authenticate": `Bearer realm="http://evil.example/token"` }));
    const viaLocal: typeof fetch = (input, init) => fetch(String(input).replace("https://registry.example", local.url), init);

    const result = await new RegistryV2Verifier({ fetch: viaLocal }).verify({ host: "registry.example", credential: credential(USER, PASSWORD) });

    expect(result.status).toBe("unreachable");
    expect(result.detail).toContain("not HTTPS");
    expect(local.seen).toHaveLength(1);
  });

  it("never lets the credential into the result, even when the server echoes it", async () => {
    const registry = await serve((req, res, seen) => {
      if (seen.path === "/token") return reply(res, 200, { token: TOKEN });
      if (seen.authorization === undefined) {
        return reply(res, 401, {}, { "www-authenticate": `Bearer realm="http://${req.headers.host}/token"` });
      }
      reply(res, 403, { message: `you sent ${seen.authorization}; also ${BASIC}` });
    });

    const result = await verifier.verify(request(registry.host));
    const printed = JSON.stringify(result);

    expect(result.status).toBe("unauthorized");
    for (const secret of [PASSWORD, BASIC.slice("Basic ".length), TOKEN]) {
      expect(result.detail).not.toContain(secret);
      expect(printed).not.toContain(secret);
    }
    expect(result.detail).toContain("[REDACTED]");
  });

  it("checks the endpoint instead of the host when one is given", async () => {
    const registry = await serve((_req, res) => reply(res, 200));

    const viaEndpoint = await verifier.verify(request("registry.example", { endpoint: `${registry.url}/` }));

    expect(viaEndpoint.status).toBe("ok");
    expect(viaEndpoint.detail).toContain(`registry.example (via ${registry.url})`);
    expect(registry.seen.map((s) => s.path)).toEqual(["/v2/"]);
  });

  it("stamps checkedAt from the clock", async () => {
    const registry = await serve((_req, res) => reply(res, 200));
    const at = new Date("2026-01-02T03:04:05Z");

    const result = await new RegistryV2Verifier({ clock: { now: () => at } }).verify(request(registry.host));

    expect(result.checkedAt).toBe(at);
  });
});

describe("parseChallenges", () => {
  it("keeps commas inside quoted values", () => {
    expect(
      parseChallenges('Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:a/b:pull,push"'),
    ).toEqual([
      {
        scheme: "bearer",
        params: { realm: "https://auth.example.com/token", service: "registry.example.com", scope: "repository:a/b:pull,push" },
      },
    ]);
  });

  it("splits several challenges joined into one value, with spaces, escapes and odd case", () => {
    expect(parseChallenges('Negotiate, BASIC Realm="say \\"hi\\", ok" , Bearer realm=https://t.example/token, service = "s"')).toEqual([
      { scheme: "negotiate", params: {} },
      { scheme: "basic", params: { realm: 'say "hi", ok' } },
      { scheme: "bearer", params: { realm: "https://t.example/token", service: "s" } },
    ]);
  });

  it("reads docker-registry's htpasswd challenge and survives garbage", () => {
    expect(parseChallenges('Basic realm="pullkeeper-test"')).toEqual([{ scheme: "basic", params: { realm: "pullkeeper-test" } }]);
    expect(parseChallenges("")).toEqual([]);
    expect(parseChallenges('Bearer realm="unterminated')).toEqual([{ scheme: "bearer", params: { realm: "unterminated" } }]);
    expect(() => parseChallenges('=,= "" ,, "x')).not.toThrow();
  });
});
