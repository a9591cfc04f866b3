import type { ConsumerDelivery } from "@pullkeeper/core";
import { readFile, stat } from "node:fs/promises";
import { afterEach, describe, expect, it, vi } from "vitest";
import { EmbeddedRuntime } from "../../packages/local/src/runtime.js";
import { exampleWorld, GITHUB_TOKEN, GITPOD_PROJECT_ID, GITPOD_TOKEN, KUBE_TOKEN, WEBHOOK_KEY } from "./support/example-world.js";
import { eventually } from "./support/harness.js";
import { captureOutput } from "../support/output.js";

/**
 * examples/every-target.yaml, rendered against local servers, run by the embedded runtime: a
 * rotation of the served htpasswd registry reaches one consumer of every kind outside AWS, each
 * holds the current credential, GET /v1/consumers shows all of them delivered, and a second
 * rotation moves every one of them on.
 */

const CONSUMERS = ["codespaces-app", "actions-app", "dependabot-acme", "gitpod-app", "cluster-default", "docker-login", "notify-ci"];

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  for (const c of cleanups.splice(0).reverse()) await c();
});

type DockerAuths = { auths: Record<string, { username?: string; password?: string; auth: string }> } & Record<string, unknown>;

function decodeAuth(auth: string | undefined): string {
  return Buffer.from(auth ?? "", "base64").toString("utf8");
}

describe("examples/every-target.yaml in the embedded runtime", () => {
  it("delivers each rotation to one consumer of every kind, and GET /v1/consumers shows each one delivered", async () => {
    const output = captureOutput({ echo: true });

    const world = await exampleWorld();
    cleanups.push(() => world.close());
    const { github, gitpod, kube, webhook, dockerConfig, otherAuth, host, configPath, stateDir } = world;

    const runtime = await EmbeddedRuntime.start({ configPath, stateDir, port: 0, htpasswdCost: 4, log: () => undefined, delivery: { baseBackoffMs: 50 } });
    cleanups.push(() => runtime.stop());
    expect(runtime.config.consumers.map((c) => c.id).sort()).toEqual([...CONSUMERS].sort());

    const settled = (versionId: string): Promise<Map<string, ConsumerDelivery>> =>
      eventually(
        async () => {
          const page = await runtime.ledger.consumerDeliveries("local", { limit: 100 });
          const done = page.items.filter((d) => d.versionId === versionId && d.state !== "pending");
          return done.length === CONSUMERS.length ? new Map(done.map((d) => [d.consumerId, d])) : undefined;
        },
        60_000,
        `all ${CONSUMERS.length} consumers settled on ${versionId}`,
      );

    const adminToken = (await readFile(runtime.adminTokenPath, "utf8")).trim();
    const consumersOverHttp = async () => {
      const response = await fetch(`${runtime.server?.url}/v1/consumers?registry=local`, { headers: { authorization: `Bearer ${adminToken}` } });
      expect(response.status).toBe(200);
      return ((await response.json()) as { items: { id: string; kind: string; delivery: { state: string; versionId: string; deliveredVersionId: string | null; lastError: unknown } | null }[] }).items;
    };

    /** Every fake holds `versionId`'s credential. */
    const expectEveryoneHolds = async (versionId: string) => {
      const current = await runtime.vault.read("pullkeeper/local", { stage: "AWSCURRENT" });
      expect(current.versionId).toBe(versionId);
      const user = current.credential.username;
      const password = current.credential.password.reveal();

      const states = await settled(versionId);
      for (const id of CONSUMERS) {
        const d = states.get(id);
        expect({ id, state: d?.state, deliveredVersionId: d?.deliveredVersionId, lastError: d?.lastError }, id).toEqual({
          id,
          state: expect.stringMatching(/^(delivered|verified)$/),
          deliveredVersionId: versionId,
          lastError: undefined,
        });
      }

      // GitHub: what it would store, decrypted with its private keys, and every request as its OpenAPI description allows.
      expect(github.violations).toEqual([]);
      expect(github.value("/repos/acme/app/codespaces/secrets", "LOCAL_CONTAINER_REGISTRY_SERVER")).toBe(host);
      expect(github.value("/repos/acme/app/codespaces/secrets", "LOCAL_CONTAINER_REGISTRY_USER")).toBe(user);
      expect(github.value("/repos/acme/app/codespaces/secrets", "LOCAL_CONTAINER_REGISTRY_PASSWORD")).toBe(password);
      expect(github.value("/repos/acme/app/environments/production/secrets", "LOCAL_REGISTRY_USERNAME")).toBe(user);
      expect(github.value("/repos/acme/app/environments/production/secrets", "LOCAL_REGISTRY_PASSWORD")).toBe(password);
      expect(github.value("/orgs/acme/dependabot/secrets", "REGISTRY_USERNAME")).toBe(user);
      expect(github.value("/orgs/acme/dependabot/secrets", "REGISTRY_PASSWORD")).toBe(password);
      expect(github.secrets.get("/orgs/acme/dependabot/secrets/REGISTRY_PASSWORD")?.body.visibility).toBe("private");
      expect(github.secrets.size).toBe(7);

      // Gitpod: one registry basic-auth secret on the project, value user:password.
      expect(gitpod.violations).toEqual([]);
      expect(gitpod.secrets).toEqual([
        expect.objectContaining({ name: "LOCAL_REGISTRY_AUTH", scope: { projectId: GITPOD_PROJECT_ID }, value: `${user}:${password}`, containerRegistryBasicAuthHost: `https://${host}` }),
      ]);

      // Kubernetes: the dockerconfigjson Secret's auths entry, and the ServiceAccount lists it once.
      const secret = kube.secrets.get("default/local-registry") as { type: string; metadata: { annotations: Record<string, string> }; data: Record<string, string> } | undefined;
      expect(secret?.type).toBe("kubernetes.io/dockerconfigjson");
      expect(secret?.metadata.annotations["pullkeeper.dev/version-id"]).toBe(versionId);
      const kubeDoc = JSON.parse(Buffer.from(secret?.data[".dockerconfigjson"] ?? "", "base64").toString("utf8")) as DockerAuths;
      expect(Object.keys(kubeDoc.auths)).toEqual([host]);
      expect(decodeAuth(kubeDoc.auths[host]?.auth)).toBe(`${user}:${password}`);
      expect(kube.serviceAccounts.get("default/default")?.imagePullSecrets).toEqual([{ name: "other-pull" }, { name: "local-registry" }]);
      expect(kube.requests.every((r) => r.authorization === `Bearer ${KUBE_TOKEN}`)).toBe(true);

      // docker config: the entry for the host decodes to user:password; everything else is kept, so is the mode.
      const dockerDoc = JSON.parse(await readFile(dockerConfig, "utf8")) as DockerAuths;
      expect(decodeAuth(dockerDoc.auths[host]?.auth)).toBe(`${user}:${password}`);
      expect(dockerDoc.auths["other.example.com"]).toEqual({ auth: otherAuth });
      expect(dockerDoc.psFormat).toBe("table {{.ID}}");
      expect((await stat(dockerConfig)).mode & 0o777).toBe(0o600);

      // Webhook: a notice for this version, signed with the key from the vault, without the value.
      const notices = webhook.receipts.filter((r) => r.notice.versionId === versionId);
      expect(notices).toHaveLength(1);
      expect(notices[0]?.verified).toBe(true);
      expect(notices[0]?.notice).toMatchObject({ registryId: "local", registryHost: host, consumerId: "notify-ci", versionId, secretArn: (await runtime.vault.describe("pullkeeper/local")).arn });
      expect(notices[0]?.body).not.toContain(password);
      expect(notices[0]?.body).not.toContain(Buffer.from(`${user}:${password}`).toString("base64"));

      // GET /v1/consumers: over HTTP with the admin token, and through the API object the server uses.
      const items = await consumersOverHttp();
      expect(items.map((c) => c.id).sort()).toEqual([...CONSUMERS].sort());
      expect(new Set(items.map((c) => c.kind))).toEqual(new Set(["codespaces-secret", "github-actions-secret", "dependabot-secret", "gitpod-secret", "kubernetes-secret", "docker-config", "webhook"]));
      for (const c of items) {
        expect({ id: c.id, state: c.delivery?.state, deliveredVersionId: c.delivery?.deliveredVersionId, lastError: c.delivery?.lastError }).toEqual({
          id: c.id,
          state: expect.stringMatching(/^(delivered|verified)$/),
          deliveredVersionId: versionId,
          lastError: null,
        });
      }
      const failed = await runtime.auditApi().handle({ method: "GET", path: "/v1/consumers", query: { registry: "local", state: "failed" } });
      expect((failed.body as { items: unknown[] }).items).toEqual([]);
      return { user, password };
    };

    // ---- the first rotation (at start) ------------------------------------------------------
    const v1 = await eventually(async () => (await runtime.ledger.registryState("local"))?.current?.versionId, 30_000, "the first rotation");
    const first = await expectEveryoneHolds(v1);

    // ---- a second rotation: every consumer moves on -----------------------------------------
    const rotated = (await runtime.refresh(runtime.config.registries[0] as never)) as { outcome: string; versionId: string };
    expect(rotated.outcome).toBe("rotated");
    const v2 = rotated.versionId;
    expect(v2).not.toBe(v1);
    const second = await expectEveryoneHolds(v2);
    expect(second.password).not.toBe(first.password);
    expect(second.user).not.toBe(first.user); // the htpasswd source alternates its two users
    expect(webhook.receipts.map((r) => r.notice.versionId)).toEqual([v1, v2]);
    expect(gitpod.secrets).toHaveLength(1); // updated in place, not created twice

    await runtime.bus.drain();
    for (const secret of [first.password, second.password, GITHUB_TOKEN, GITPOD_TOKEN, KUBE_TOKEN, WEBHOOK_KEY]) expect(output.join("")).not.toContain(secret);
  }, 120_000);
});
