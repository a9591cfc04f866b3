import { createServer } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closeServer, listenOnLoopback } from "../../packages/local/src/http/loopback.js";
import { type CredentialRegistry, startCredentialRegistry } from "../support/credential-registry.js";

describe("the credential registry a provider stand-in installs its credentials in", () => {
  let registry: CredentialRegistry;

  beforeAll(async () => {
    registry = await startCredentialRegistry();
  });

  afterAll(async () => {
    await registry?.stop();
  });

  it("opens to an installed credential and closes to it once removed, while the others keep working", async () => {
    expect(await registry.basic("robot$blue", "blue-s3cr3t")).toBe(401);
    await registry.install("robot$blue", "blue-s3cr3t");
    await registry.install("acme+green", "green-s3cr3t");
    expect(await registry.basic("robot$blue", "blue-s3cr3t")).toBe(200);
    expect(await registry.basic("robot$blue", "green-s3cr3t")).toBe(401);
    const digest = await registry.pushImage("team/app", "v1", { username: "robot$blue", password: "blue-s3cr3t" });
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);

    await registry.remove("robot$blue");
    expect(await registry.basic("robot$blue", "blue-s3cr3t")).toBe(401);
    await expect(registry.pushImage("team/app", "v2", { username: "robot$blue", password: "blue-s3cr3t" })).rejects.toThrow(/answered 401/);
    expect(await registry.basic("acme+green", "green-s3cr3t")).toBe(200);
    expect(await registry.users()).toEqual(["acme+green"]);
  });

  it("replaces a user's password: the old one stops working at once", async () => {
    await registry.install("acme+green", "green-rotated");
    expect(await registry.basic("acme+green", "green-rotated")).toBe(200);
    expect(await registry.basic("acme+green", "green-s3cr3t")).toBe(401);
  });

  it("lands 20 concurrent installs, and the registry never stops answering a working login meanwhile", async () => {
    const statuses: number[] = [];
    let churning = true;
    const watcher = (async () => {
      while (churning) statuses.push(await registry.basic("acme+green", "green-rotated"));
    })();
    const names = Array.from({ length: 20 }, (_, i) => `gitlab+deploy-token-${i}`);
    await Promise.all(names.map((name) => registry.install(name, `token-${name}`)));
    churning = false;
    await watcher;

    expect(await registry.users()).toEqual([...names, "acme+green"].sort());
    expect(await Promise.all(names.map((name) => registry.basic(name, `token-${name}`)))).toEqual(names.map(() => 200));
    // The file was replaced, never missing or half-written: no 400 or 500 in between.
    expect(statuses.length).toBeGreaterThan(0);
    expect(new Set(statuses)).toEqual(new Set([200]));
  });

  it("applies concurrent changes in the order they were asked for", async () => {
    await Promise.all([registry.install("quay+flip", "one"), registry.remove("quay+flip"), registry.install("quay+flop", "two"), registry.install("quay+flop", "three")]);
    expect(await registry.users()).not.toContain("quay+flip");
    expect(await registry.basic("quay+flip", "one")).toBe(401);
    expect(await registry.basic("quay+flop", "two")).toBe(401);
    expect(await registry.basic("quay+flop", "three")).toBe(200);
  });

  it("refuses a username htpasswd cannot hold, and changes nothing", async () => {
    const before = await registry.users();
    await expect(registry.install("user:name", "x")).rejects.toThrow(/htpasswd username/);
    await expect(registry.install("user\nevil", "x")).rejects.toThrow(/htpasswd username/);
    await expect(registry.install("acme~1", "x")).rejects.toThrow(/installShared/);
    await expect(registry.installShared("user:name", "x")).rejects.toThrow(/htpasswd username/);
    expect(await registry.users()).toEqual(before);
  });

  describe("shared logins: several passwords for one username, through the front", () => {
    const basicHeader = (username: string, password: string): string => `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}`;
    /** The requests the front passed on since `from`, without passwords. */
    const since = (from: number) => registry.forwarded.slice(from);

    it("opens to each of a username's passwords, and to no other", async () => {
      const first = await registry.installShared("acme", "dckr_oat_first");
      const second = await registry.installShared("acme", "dckr_oat_second:with-colon");
      expect(first).toBe("acme~1");
      expect(second).toBe("acme~2");
      expect(await registry.users()).toEqual(expect.arrayContaining(["acme~1", "acme~2"]));

      const mark = registry.forwarded.length;
      expect(await registry.basic("acme", "dckr_oat_first")).toBe(200);
      expect(await registry.basic("acme", "dckr_oat_second:with-colon")).toBe(200);
      // The registry itself decided both: the front sent each on as its internal user.
      expect(since(mark)).toEqual([
        { method: "GET", path: "/v2/", user: "acme~1", status: 200 },
        { method: "GET", path: "/v2/", user: "acme~2", status: 200 },
      ]);

      // A wrong password goes on as it came, and the registry refuses it with its challenge.
      const wrong = await fetch(`${registry.url}/v2/`, { headers: { authorization: basicHeader("acme", "dckr_oat_guess") } });
      await wrong.body?.cancel();
      expect(wrong.status).toBe(401);
      expect(wrong.headers.get("www-authenticate")).toBe('Basic realm="pullkeeper-test"');
      expect(wrong.headers.get("docker-distribution-api-version")).toBe("registry/2.0");
      expect(registry.forwarded.at(-1)).toEqual({ method: "GET", path: "/v2/", user: "acme", status: 401 });
      // A password of the username that is another user's internal one is no way in either.
      expect(await registry.basic("acme~1", "dckr_oat_second:with-colon")).toBe(401);
      // No login at all: the registry's challenge, passed back.
      const anonymous = await fetch(`${registry.url}/v2/`);
      await anonymous.body?.cancel();
      expect(anonymous.status).toBe(401);
      expect(anonymous.headers.get("www-authenticate")).toBe('Basic realm="pullkeeper-test"');
    });

    it("pushes an image through the front with a shared login (uploads stream through it too)", async () => {
      const mark = registry.forwarded.length;
      const digest = await registry.pushImage("acme/app", "v1", { username: "acme", password: "dckr_oat_second:with-colon" });
      expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
      const pushed = since(mark);
      // The upload locations the registry answered with pointed back at the front.
      expect(pushed.filter((r) => r.method === "PUT" && r.path.startsWith("/v2/acme/app/blobs/uploads/"))).toHaveLength(2);
      expect(pushed.every((r) => r.user === "acme~2" && r.status < 300)).toBe(true);

      const manifest = await fetch(`${registry.url}/v2/acme/app/manifests/v1`, {
        method: "HEAD",
        headers: { authorization: basicHeader("acme", "dckr_oat_first"), accept: "application/vnd.docker.distribution.manifest.v2+json" },
      });
      expect(manifest.status).toBe(200);
      expect(manifest.headers.get("docker-content-digest")).toBe(digest);
    });

    it("removing one password closes the registry to it (the registry refuses it), the other keeps working", async () => {
      await registry.removeShared("acme", "dckr_oat_first");
      expect(await registry.users()).not.toContain("acme~1");
      const mark = registry.forwarded.length;
      expect(await registry.basic("acme", "dckr_oat_first")).toBe(401);
      expect(since(mark)).toEqual([{ method: "GET", path: "/v2/", user: "acme~1", status: 401 }]);
      expect(await registry.basic("acme", "dckr_oat_second:with-colon")).toBe(200);
      await expect(registry.pushImage("acme/app", "v2", { username: "acme", password: "dckr_oat_first" })).rejects.toThrow(/answered 401/);

      // Idempotent, and a login never installed is no change.
      await registry.removeShared("acme", "dckr_oat_first");
      await registry.removeShared("acme", "never-installed");
      await registry.removeShared("nobody", "x");
      expect(await registry.basic("acme", "dckr_oat_second:with-colon")).toBe(200);

      // Installing it again gives it back its internal user.
      expect(await registry.installShared("acme", "dckr_oat_first")).toBe("acme~1");
      expect(await registry.basic("acme", "dckr_oat_first")).toBe(200);
      expect(await registry.installShared("acme", "dckr_oat_third")).toBe("acme~3");
    });

    it("keeps plain users working beside shared ones, and never records a password", async () => {
      await registry.install("plain-user", "plain-pass");
      expect(await registry.basic("plain-user", "plain-pass")).toBe(200);
      expect(registry.forwarded.at(-1)?.user).toBe("plain-user");
      const recorded = JSON.stringify(registry.forwarded);
      for (const secret of ["dckr_oat_first", "dckr_oat_second", "plain-pass", "green-rotated"]) expect(recorded).not.toContain(secret);
    });
  });

  it("stop() frees the front's port", async () => {
    const other = await startCredentialRegistry();
    await other.installShared("org", "token-1");
    expect(await other.basic("org", "token-1")).toBe(200);
    const port = Number(new URL(other.url).port);
    await other.stop();
    await expect(fetch(`${other.url}/v2/`)).rejects.toThrow();
    const server = createServer((_req, res) => res.end());
    const bound = await listenOnLoopback(server, port);
    expect(bound.port).toBe(port);
    await closeServer(server, 0);
  });
});
