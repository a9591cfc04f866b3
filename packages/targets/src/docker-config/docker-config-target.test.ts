import { credential, type DeliveryContext, type Registry } from "@pullkeeper/core";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { DockerConfigTarget } from "./docker-config-target.js";

// Layouts the byte-keeping edit meets less often than docker's own (those are in
// test/integration/docker-config-target.test.ts).
const AUTH = Buffer.from("acme-ci:a-password").toString("base64");
const registry = { id: "ghcr", host: "ghcr.io", kind: "ghcr", source: { type: "managed-secret" }, secret: "pullkeeper/ghcr", verify: {} } as Registry;

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function deliverTo(original: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "pullkeeper-docker-config-unit-"));
  dirs.push(dir);
  const path = join(dir, "config.json");
  await writeFile(path, original, { mode: 0o600 });
  const context: DeliveryContext = {
    consumer: { id: "build-host", registryId: "ghcr", target: { kind: "docker-config", path } },
    registry,
    secretArn: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:pullkeeper/ghcr-AbCdEf",
    versionId: "3f0c1e4a-7b2d-4c9e-8a1f-0d2e3c4b5a69",
    credential: credential("acme-ci", "a-password"),
  };
  await new DockerConfigTarget().deliver(context);
  return readFile(path, "utf8");
}

describe("DockerConfigTarget's edit of the file text", () => {
  it("keeps a single-line file on one line", async () => {
    expect(await deliverTo('{"auths":{"quay.io":{"auth":"cXVheTpxdWF5"}},"credsStore":"pass"}')).toBe(
      `{"auths":{"quay.io":{"auth":"cXVheTpxdWF5"},"ghcr.io":{"auth":"${AUTH}"}},"credsStore":"pass"}`,
    );
  });

  it("replaces an auths that is null", async () => {
    expect(await deliverTo('{"auths": null, "x": 1.0}\n')).toBe(`{"auths": {"ghcr.io":{"auth":"${AUTH}"}}, "x": 1.0}\n`);
  });

  it("edits the last of duplicated keys (docker, like JSON.parse, reads the last), leaving the rest of the bytes", async () => {
    const before = '{\n  "auths": {"ghcr.io": {"auth": "b2xk"}},\n  "auths": {"quay.io": {"auth": "cXVheTpxdWF5"}}\n}\n';
    const after = await deliverTo(before);
    expect((JSON.parse(after) as { auths: Record<string, { auth: string }> }).auths).toEqual({ "quay.io": { auth: "cXVheTpxdWF5" }, "ghcr.io": { auth: AUTH } });
    expect(after.startsWith('{\n  "auths": {"ghcr.io": {"auth": "b2xk"}},\n  "auths": {"quay.io": {"auth": "cXVheTpxdWF5"}')).toBe(true);
  });
});
