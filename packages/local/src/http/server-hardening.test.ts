import { request } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { type RunningServer, startLocalServer } from "./server.js";

/** Issue 15, defects 1 and 5: bodies read before the token was checked; no Host check; no CSP or frame protection. */

const TOKEN = "admin-token-for-the-hardening-test";
const servers: RunningServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function serve() {
  const bodies: number[] = [];
  const server = await startLocalServer({
    port: 0,
    adminToken: TOKEN,
    api: async (event) => {
      bodies.push((event.body ?? "").length);
      return event.rawPath === "/"
        ? { statusCode: 200, headers: { "content-type": "text/html; charset=utf-8" }, body: "<!doctype html><style>body{margin:0}</style><script src=\"dashboard.js\" defer></script>" }
        : { statusCode: 200, headers: { "content-type": "application/json" }, body: "{}" };
    },
    health: () => ({}),
  });
  servers.push(server);
  return { server, bodies };
}

/** Streams `total` bytes to `path` in 64 KiB chunks; resolves with the status and how much had been written when the answer came. */
function upload(url: string, path: string, total: number, headers: Record<string, string> = {}): Promise<{ status: number; writtenWhenAnswered: number }> {
  return new Promise((resolve, reject) => {
    let written = 0;
    const req = request(`${url}${path}`, { method: "POST", headers: { "content-type": "application/json", "content-length": String(total), ...headers } }, (res) => {
      resolve({ status: res.statusCode ?? 0, writtenWhenAnswered: written });
      res.resume();
      req.destroy();
    });
    req.on("error", (error) => (written < total ? undefined : reject(error)));
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    const pump = () => {
      while (written < total) {
        written += chunk.length;
        if (!req.write(chunk)) return void req.once("drain", pump);
      }
      req.end();
    };
    pump();
  });
}

function get(url: string, path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, { headers }, (res) => {
      let body = "";
      res.on("data", (c: Buffer) => (body += c.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("the embedded server's hardening", () => {
  it("answers an unauthenticated POST with 401 before reading its body, and never hands it to the API", async () => {
    const { server, bodies } = await serve();
    const total = 256 * 1024 * 1024;
    const answer = await upload(server.url, "/v1/registries/local/refresh", total);
    expect(answer.status).toBe(401);
    expect(answer.writtenWhenAnswered).toBeLessThan(total / 4);
    expect(bodies).toEqual([]);
  });

  it("refuses a body over the cap with 413, before reading it, even with the token", async () => {
    const { server, bodies } = await serve();
    const big = await upload(server.url, "/v1/registries/local/refresh", 64 * 1024 * 1024, { authorization: `Bearer ${TOKEN}` });
    expect(big.status).toBe(413);
    expect(big.writtenWhenAnswered).toBeLessThan(16 * 1024 * 1024);
    expect(bodies).toEqual([]);
  });

  it("answers only requests addressed to this machine's loopback (a DNS-rebinding page sends its own Host)", async () => {
    const { server } = await serve();
    const port = new URL(server.url).port;
    for (const host of ["evil.example", `evil.example:${port}`, "127.0.0.1.nip.io", `localhost.evil:${port}`]) {
      const answer = await get(server.url, "/healthz", { host });
      expect(answer.status, host).toBe(421);
      expect(JSON.parse(answer.body)).toMatchObject({ code: "misdirected" });
    }
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`]) expect((await get(server.url, "/healthz", { host })).status, host).toBe(200);
  });

  it("sends a Content-Security-Policy that allows only its own script and its own style, and forbids framing", async () => {
    const { server } = await serve();
    const page = await get(server.url, "/");
    const csp = String(page.headers["content-security-policy"]);
    expect(csp).toMatch(/default-src 'none'/);
    expect(csp).toMatch(/script-src 'self'(;|$)/);
    expect(csp).toMatch(/style-src 'sha256-[A-Za-z0-9+/=]+'/);
    expect(csp).toMatch(/frame-ancestors 'none'/);
    expect(page.headers["x-frame-options"]).toBe("DENY");
    for (const path of ["/", "/healthz", "/v1/registries", "/nothing"]) expect((await get(server.url, path)).headers["x-content-type-options"], path).toBe("nosniff");
  });
});
