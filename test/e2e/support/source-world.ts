import { credential, type Credential } from "@pullkeeper/core";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EmbeddedRuntime, type RuntimeOptions } from "../../../packages/local/src/runtime.js";
import { LocalVault } from "../../../packages/local/src/vault/local-vault.js";
import { type CredentialRegistry, startCredentialRegistry } from "../../support/credential-registry.js";
import { eventually } from "./harness.js";
import { api } from "./safe-rotation-world.js";

/**
 * The world of a source's end-to-end test (issue 14): a real docker-registry behind which the
 * provider's fake installs what it makes, one registry whose `source` is the source under test,
 * two docker-config consumers, the admin login in the local vault, and the embedded runtime.
 */

export const SOURCE_CONSUMERS = ["laptop", "runner"];
const ADMIN_SECRET = "pullkeeper/source-admin";
const SECRET = "pullkeeper/source-under-test";

export interface SourceUnderTest<Fake> {
  readonly fake: Fake;
  /** The registry entry's `kind`. */
  readonly kind: string;
  /** The `source:` block's keys as YAML lines, without `type`'s indentation (e.g. `type: dockerhub-token\nadmin: …`); `admin` is added. */
  readonly source: string;
  /** The admin login the fake accepts, stored as the source's `admin` secret. */
  readonly admin: { readonly username: string; readonly password: string };
  stop(): Promise<void>;
}

export interface SourceWorld<Fake> {
  readonly dir: string;
  readonly stateDir: string;
  readonly registry: CredentialRegistry;
  readonly fake: Fake;
  readonly runtime: EmbeddedRuntime;
  /** The registry's id in the config. */
  readonly id: string;
  /** The current version in the vault. */
  current(): Promise<Credential & { versionId: string }>;
  /** The status GET /v2/ answers this login with: 200 opens, 401 refused. */
  opens(c: Credential): Promise<number>;
  /** The login a consumer's docker config holds for the registry. */
  held(consumer: string): Promise<{ username: string; password: string }>;
  /** Waits until every consumer holds `c`. */
  allHold(c: Credential): Promise<void>;
  /** The admin secret's current value in the vault. */
  adminPassword(): Promise<string>;
  /** POST /v1/registries/<id>/refresh?force=true: a rotation (or, for a minting source, a refresh) now. */
  rotate(): Promise<{ status: number; body: Record<string, unknown> }>;
  stop(): Promise<void>;
}

/**
 * Starts the registry, then the fake over it (`start`), then the runtime over a config naming both.
 * `runtime`: more of the runtime's options (a hook after each rotation step, say).
 */
export async function startSourceWorld<Fake>(
  start: (registry: CredentialRegistry) => Promise<SourceUnderTest<Fake>>,
  runtime: Partial<Omit<RuntimeOptions, "configPath" | "stateDir" | "port" | "log">> = {},
): Promise<SourceWorld<Fake>> {
  const dir = await mkdtemp(join(tmpdir(), "pullkeeper-source-e2e-"));
  const stateDir = join(dir, ".pullkeeper");
  const registry = await startCredentialRegistry();
  const under = await start(registry);
  const id = "under-test";
  const indent = (text: string, by: string) => text.trim().split("\n").map((line) => `${by}${line}`).join("\n");
  await writeFile(
    join(dir, "pullkeeper.yaml"),
    `registries:
  - id: ${id}
    host: ${registry.host}
    kind: ${under.kind}
    source:
${indent(`${under.source}\nadmin: ${ADMIN_SECRET}`, "      ")}
    secret: ${SECRET}
    verify: { endpoint: "${registry.url}" }
consumers:
${SOURCE_CONSUMERS.map((c) => `  - id: ${c}\n    registry: ${id}\n    target: { kind: docker-config, path: ${join(dir, `${c}.json`)} }\n`).join("")}settings:
  auditSchedule: rate(1 day)
  clockSkew: 1s
`,
  );
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  const vault = () => new LocalVault({ dir: join(stateDir, "vault") });
  await vault().createSecret(ADMIN_SECRET, credential(under.admin.username, under.admin.password));
  const running = await EmbeddedRuntime.start({ ...runtime, configPath: join(dir, "pullkeeper.yaml"), stateDir, port: 0, log: () => undefined });
  const baseUrl = running.server?.url as string;

  const held = async (consumer: string) => {
    const config = JSON.parse(await readFile(join(dir, `${consumer}.json`), "utf8")) as { auths: Record<string, { auth: string }> };
    // One registry per file: whatever key the docker-config target wrote it under (Docker Hub's is not the host).
    const [entry] = Object.values(config.auths);
    const [username = "", password = ""] = Buffer.from(entry?.auth ?? "", "base64").toString("utf8").split(/:(.*)/s);
    return { username, password };
  };
  return {
    dir,
    stateDir,
    registry,
    fake: under.fake,
    runtime: running,
    id,
    current: async () => {
      const stored = await vault().read(SECRET, { stage: "AWSCURRENT" });
      return Object.assign(stored.credential, { versionId: stored.versionId });
    },
    opens: (c) => registry.basic(c.username, c.password.reveal()),
    held,
    allHold: async (c) => {
      await eventually(async () => {
        const logins = await Promise.all(SOURCE_CONSUMERS.map((id) => held(id).catch(() => undefined)));
        return logins.every((l) => l?.username === c.username && l.password === c.password.reveal()) ? true : undefined;
      }, 60_000, "every consumer holding the current credential");
    },
    adminPassword: async () => (await vault().read(ADMIN_SECRET, { stage: "AWSCURRENT" })).credential.password.reveal(),
    rotate: () => api(baseUrl, stateDir, "POST", `/v1/registries/${id}/refresh?force=true`),
    stop: async () => {
      await running.stop();
      await under.stop();
      await registry.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
