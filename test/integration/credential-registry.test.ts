import { afterAll, beforeAll, describe, expect, it } from "vitest";
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
    expect(await registry.users()).toEqual(before);
  });
});
