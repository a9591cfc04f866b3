import { deliveryFailure } from "../support/delivery.js";
import { credential, type DeliveryContext, DeliveryError, type Registry } from "@pullkeeper/core";
import { chmod, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from "node:fs/promises";
import * as nodeFs from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { DockerConfigTarget } from "../../packages/targets/src/docker-config/docker-config-target.js";
import { captureOutput } from "../support/output.js";

const PASSWORD = "dckr_pat_Zq8-Secret-Value-9vX";
const USERNAME = "acme-ci";
const AUTH = Buffer.from(`${USERNAME}:${PASSWORD}`).toString("base64");
const VERSION_ID = "3f0c1e4a-7b2d-4c9e-8a1f-0d2e3c4b5a69";
const registry: Registry = { id: "ghcr", host: "ghcr.io", kind: "ghcr", source: { type: "managed-secret" }, secret: "pullkeeper/ghcr", verify: {} } as Registry;

let dir: string;
let file: string;
let output: string[];

function context(path: string, options: { registry?: Registry; password?: string } = {}): DeliveryContext {
  return {
    consumer: { id: "build-host", registryId: "ghcr", target: { kind: "docker-config", path } },
    registry: options.registry ?? registry,
    secretArn: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:pullkeeper/ghcr-AbCdEf",
    versionId: VERSION_ID,
    credential: credential(USERNAME, options.password ?? PASSWORD),
  };
}

async function failure(promise: Promise<unknown>): Promise<DeliveryError> {
  const e = await deliveryFailure(promise);
  expect(`${e.message} ${String(e.cause ?? "")} ${JSON.stringify(e)}`).not.toContain(PASSWORD);
  expect(`${e.message}`).not.toContain(AUTH);
  return e;
}

/** A config.json as Docker Desktop leaves it: tabs, helper, proxies, other registries, key order docker would not produce. */
const TAB_CONFIG = [
  "{",
  '\t"credsStore": "desktop",',
  '\t"auths": {',
  '\t\t"https://index.docker.io/v1/": {},',
  '\t\t"registry.gitlab.com": {',
  '\t\t\t"auth": "Z2l0bGFiOnRva2Vu"',
  "\t\t},",
  '\t\t"ghcr.io": {',
  '\t\t\t"auth": "b2xkOm9sZA==",',
  '\t\t\t"identitytoken": "stale"',
  "\t\t},",
  '\t\t"quay.io": { "auth": "cXVheTpxdWF5" }',
  "\t},",
  '\t"proxies": {',
  '\t\t"default": { "httpProxy": "http://proxy.internal:3128", "noProxy": "localhost,127.0.0.1" }',
  "\t},",
  '\t"experimental": "enabled",',
  '\t"currentContext": "desktop-linux",',
  '\t"plugins": { "\\u0064ebug": { "hooks": "scout" } },',
  '\t"detachKeys": "ctrl-e,e",',
  '\t"psFormat": "table {{.ID}}\\t{{.Names}}",',
  '\t"numbers": [1.0, 1e3, -0]',
  "}",
  "",
].join("\n");

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "pullkeeper-docker-config-"));
  file = join(dir, "config.json");
  output = captureOutput();
});

afterEach(async () => {
  vi.restoreAllMocks();
  expect(output.join("")).not.toContain(PASSWORD);
  expect(output.join("")).not.toContain(AUTH);
  await rm(dir, { recursive: true, force: true });
});

describe("DockerConfigTarget: the one entry, nothing else", () => {
  it("replaces only auths[host] and keeps every other byte, including odd spellings docker would not write", async () => {
    await writeFile(file, TAB_CONFIG, { mode: 0o600 });
    const outcome = await new DockerConfigTarget().deliver(context(file));

    const after = await readFile(file, "utf8");
    const expected = TAB_CONFIG.replace('{\n\t\t\t"auth": "b2xkOm9sZA==",\n\t\t\t"identitytoken": "stale"\n\t\t}', `{\n\t\t\t"auth": "${AUTH}"\n\t\t}`);
    expect(expected).not.toBe(TAB_CONFIG); // the replacement above found its text
    expect(after).toBe(expected);
    expect(JSON.parse(after).auths["ghcr.io"]).toEqual({ auth: AUTH });
    expect(Buffer.from(AUTH, "base64").toString()).toBe(`${USERNAME}:${PASSWORD}`);
    expect(outcome.status).toBe("verified");
    expect(outcome.detail).toContain(`auths entry ghcr.io for version ${VERSION_ID}`);
    expect(outcome.detail).toContain("credsStore is desktop"); // docker itself would not read auths here: say so
    expect(outcome.detail).not.toContain(PASSWORD);
    expect(outcome.detail).not.toContain(AUTH);
  });

  it("adds a new registry after the last one, indented like the file (two spaces), keeping the rest", async () => {
    const original = '{\n  "auths": {\n    "quay.io": {\n      "auth": "cXVheTpxdWF5"\n    }\n  },\n  "credHelpers": {\n    "123456789012.dkr.ecr.eu-west-1.amazonaws.com": "ecr-login"\n  }\n}\n';
    await writeFile(file, original, { mode: 0o600 });
    await new DockerConfigTarget().deliver(context(file));
    const after = await readFile(file, "utf8");
    expect(after).toBe(original.replace('"auth": "cXVheTpxdWF5"\n    }', `"auth": "cXVheTpxdWF5"\n    },\n    "ghcr.io": {\n      "auth": "${AUTH}"\n    }`));
  });

  it("adds auths to a file that has none, and keys Docker Hub as docker login does", async () => {
    const original = '{\r\n    "credsStore": "pass"\r\n}';
    await writeFile(file, original, { mode: 0o600 });
    const hub = { ...registry, id: "hub", host: "docker.io", kind: "dockerhub" } as Registry;
    await new DockerConfigTarget().deliver(context(file, { registry: hub }));
    const after = await readFile(file, "utf8");
    expect(after).toBe(`{\r\n    "credsStore": "pass",\r\n    "auths": {\r\n        "https://index.docker.io/v1/": {\r\n            "auth": "${AUTH}"\r\n        }\r\n    }\r\n}`);
  });

  it("a second delivery of the same version leaves the file untouched (same bytes, same inode)", async () => {
    await writeFile(file, TAB_CONFIG, { mode: 0o600 });
    const target = new DockerConfigTarget();
    await target.deliver(context(file));
    const first = await stat(file);
    const text = await readFile(file, "utf8");
    const outcome = await target.deliver(context(file));
    expect(await readFile(file, "utf8")).toBe(text);
    expect((await stat(file)).ino).toBe(first.ino);
    expect(outcome.detail).toContain("already held the current login");
  });

  it("serializes concurrent deliveries to the same file: the last one wins, none is lost or torn", async () => {
    await writeFile(file, TAB_CONFIG, { mode: 0o600 });
    const other = { ...registry, id: "quay", host: "quay.io", kind: "quay" } as Registry;
    const a = new DockerConfigTarget();
    const b = new DockerConfigTarget();
    await Promise.all([
      a.deliver(context(file, { password: "first-password" })),
      b.deliver(context(file, { registry: other })),
      a.deliver(context(file)),
    ]);
    const doc = JSON.parse(await readFile(file, "utf8"));
    expect(doc.auths["ghcr.io"]).toEqual({ auth: AUTH });
    expect(doc.auths["quay.io"]).toEqual({ auth: AUTH });
    expect(doc.auths["registry.gitlab.com"]).toEqual({ auth: "Z2l0bGFiOnRva2Vu" });
    expect(await readdir(dir)).toEqual(["config.json"]);
  });
});

describe("DockerConfigTarget: modes and new files", () => {
  it("keeps the file's mode (0640 stays 0640)", async () => {
    await writeFile(file, TAB_CONFIG);
    await chmod(file, 0o640);
    const outcome = await new DockerConfigTarget().deliver(context(file));
    expect((await stat(file)).mode & 0o777).toBe(0o640);
    expect(outcome.detail).toContain("mode 0640 kept");
  });

  it("creates a missing file 0600 in a new 0700 directory, in docker's layout", async () => {
    const nested = join(dir, "home", ".docker", "config.json");
    await new DockerConfigTarget().deliver(context(nested));
    expect((await stat(nested)).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, "home", ".docker"))).mode & 0o777).toBe(0o700);
    expect(await readFile(nested, "utf8")).toBe(`{\n\t"auths": {\n\t\t"ghcr.io": {\n\t\t\t"auth": "${AUTH}"\n\t\t}\n\t}\n}`);
  });

  it("expands ~ to the home directory", async () => {
    await new DockerConfigTarget({ home: dir }).deliver(context("~/.docker/config.json"));
    expect(JSON.parse(await readFile(join(dir, ".docker", "config.json"), "utf8")).auths["ghcr.io"]).toEqual({ auth: AUTH });
  });

  it("follows a symlinked config.json and keeps the link", async () => {
    const real = join(dir, "dotfiles-config.json");
    await writeFile(real, TAB_CONFIG, { mode: 0o600 });
    await symlink(real, file);
    await new DockerConfigTarget().deliver(context(file));
    expect((await nodeFs.lstat(file)).isSymbolicLink()).toBe(true);
    expect(JSON.parse(await readFile(real, "utf8")).auths["ghcr.io"]).toEqual({ auth: AUTH });
  });
});

describe("DockerConfigTarget: failures leave the old file", () => {
  it("a crash at the rename leaves the old file intact and no temp file behind; unavailable, retryable", async () => {
    await writeFile(file, TAB_CONFIG, { mode: 0o600 });
    let tempSeen: string | undefined;
    const rename = vi.fn(async (from: nodeFs.FileHandle | string) => {
      tempSeen = String(from);
      // The temp file is complete at this point: the crash is between write and rename.
      expect(JSON.parse(await readFile(tempSeen, "utf8")).auths["ghcr.io"]).toEqual({ auth: AUTH });
      throw Object.assign(new Error("simulated crash"), { code: "EIO" });
    });
    const error = await failure(new DockerConfigTarget({ fs: { rename: rename as unknown as typeof nodeFs.rename } }).deliver(context(file)));
    expect(error).toMatchObject({ code: "unavailable", retryable: true });
    expect(error.message).toContain(file);
    expect(rename).toHaveBeenCalledOnce();
    expect(tempSeen?.startsWith(dir)).toBe(true); // same directory, so the rename is atomic
    expect(await readFile(file, "utf8")).toBe(TAB_CONFIG);
    expect(await readdir(dir)).toEqual(["config.json"]);
  });

  it("a failure while writing the temp file (disk full) leaves the old file intact and no temp file", async () => {
    await writeFile(file, TAB_CONFIG, { mode: 0o600 });
    const open: typeof nodeFs.open = async (...args: Parameters<typeof nodeFs.open>) => {
      const handle = await nodeFs.open(...args);
      if (String(args[0]).endsWith(".tmp")) {
        handle.writeFile = async () => {
          throw Object.assign(new Error("no space"), { code: "ENOSPC" });
        };
      }
      return handle;
    };
    const error = await failure(new DockerConfigTarget({ fs: { open } }).deliver(context(file)));
    expect(error).toMatchObject({ code: "unavailable", retryable: true });
    expect(error.message).toContain("ENOSPC");
    expect(await readFile(file, "utf8")).toBe(TAB_CONFIG);
    expect(await readdir(dir)).toEqual(["config.json"]);
  });

  it("a file that is not JSON: invalid_target, not retryable, names the file, never quotes it, leaves it unchanged", async () => {
    const broken = `{"auths": {"ghcr.io": {"auth": "${AUTH}"}}, oops`;
    await writeFile(file, broken, { mode: 0o600 });
    const error = await failure(new DockerConfigTarget().deliver(context(file)));
    expect(error).toMatchObject({ code: "invalid_target", retryable: false });
    expect(error.message).toBe(`docker config ${file} is not valid JSON; left unchanged`);
    expect(await readFile(file, "utf8")).toBe(broken);
    expect(await readdir(dir)).toEqual(["config.json"]);
  });

  it("a directory it may not write: forbidden, not retryable", async () => {
    await writeFile(file, TAB_CONFIG, { mode: 0o600 });
    // EACCES as the kernel reports it to a non-root user (tests may run as root, which ignores modes).
    const open: typeof nodeFs.open = async (...args: Parameters<typeof nodeFs.open>) => {
      if (String(args[0]).endsWith(".tmp")) throw Object.assign(new Error(`EACCES: permission denied, open '${String(args[0])}'`), { code: "EACCES" });
      return nodeFs.open(...args);
    };
    const error = await failure(new DockerConfigTarget({ fs: { open } }).deliver(context(file)));
    expect(error).toMatchObject({ code: "forbidden", retryable: false });
    expect(error.message).toBe(`docker config ${file}: EACCES while writing: permission denied`);
    expect(await readFile(file, "utf8")).toBe(TAB_CONFIG);
    expect(await readdir(dir)).toEqual(["config.json"]);
  });

  it("rejects a target without a path", async () => {
    const ctx = context(file);
    const error = await failure(new DockerConfigTarget().deliver({ ...ctx, consumer: { ...ctx.consumer, target: { kind: "docker-config" } } }));
    expect(error).toMatchObject({ code: "invalid_target", retryable: false });
  });

  it("provider is docker-config", () => {
    expect(new DockerConfigTarget().provider(context(file).consumer)).toBe("docker-config");
  });
});
