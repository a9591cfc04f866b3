import { credential } from "@pullkeeper/core";
import { verifyWebhookSignature, type WebhookNotice } from "@pullkeeper/targets";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import type { ServerResponse } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LocalVault } from "../../../packages/local/src/vault/local-vault.js";
import { FakeGitHub } from "../../support/fake-github.js";
import { FakeGitpod } from "../../support/fake-gitpod.js";
import { FakeApiServer, kubeconfigYaml } from "../../support/fake-kubernetes.js";
import { type LocalServer, type Received, startServer } from "../../support/http.js";
import { freePort } from "./harness.js";

/**
 * examples/every-target.yaml rendered against local servers on 127.0.0.1 (a fake GitHub REST API,
 * Gitpod public API and Kubernetes API server, a webhook receiver), a kubeconfig and a docker
 * config directory in a temp dir, with the tokens the targets read already in the vault.
 */

const EXAMPLE = new URL("../../../examples/every-target.yaml", import.meta.url);
export const GITHUB_TOKEN = "ghp_everyTargetE2eToken0123456789abcdef";
export const GITPOD_TOKEN = "gitpod_pat_everyTargetE2e.0123456789abcdef";
export const KUBE_TOKEN = "kube-every-target-bearer-token";
export const WEBHOOK_KEY = "whsec_every_target_0123456789abcdefABCDEF";
export const GITPOD_PROJECT_ID = "b0e12f6c-4c67-429d-a4a6-d9838b5da047";

/** Replaces every `${NAME}` token; a token without a value fails the test rather than reaching the runtime. */
export function render(template: string, values: Readonly<Record<string, string>>): string {
  return template.replace(/\$\{([A-Z][A-Z0-9_]*)\}/g, (_, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`examples/every-target.yaml uses \${${name}}, which the test does not provide`);
    return value;
  });
}

export interface WebhookReceipt {
  readonly verified: boolean;
  readonly body: string;
  readonly notice: WebhookNotice;
}

/** A receiver as the docs tell people to write one: verify the signature, then read the notice. */
async function webhookReceiver(): Promise<{ server: LocalServer; receipts: WebhookReceipt[] }> {
  const receipts: WebhookReceipt[] = [];
  const header = (req: Received, name: string): string | undefined => {
    const v = req.headers[name];
    return Array.isArray(v) ? v[0] : v;
  };
  const server = await startServer((req: Received, res: ServerResponse) => {
    const verified = req.method === "POST" && verifyWebhookSignature({ body: req.body, timestamp: header(req, "pullkeeper-timestamp"), signature: header(req, "pullkeeper-signature"), keys: [WEBHOOK_KEY] });
    let notice: WebhookNotice;
    try {
      notice = JSON.parse(req.body) as WebhookNotice;
    } catch {
      res.writeHead(400);
      res.end();
      return;
    }
    receipts.push({ verified, body: req.body, notice });
    res.writeHead(verified ? 204 : 401);
    res.end();
  });
  return { server, receipts };
}

export interface ExampleWorld {
  readonly dir: string;
  readonly configPath: string;
  readonly stateDir: string;
  /** host:port of the served registry, as it appears in the config. */
  readonly host: string;
  readonly github: FakeGitHub;
  readonly gitpod: FakeGitpod;
  readonly kube: FakeApiServer;
  readonly webhook: { server: LocalServer; receipts: WebhookReceipt[] };
  readonly dockerConfig: string;
  /** The docker config entry for another registry that must survive every write. */
  readonly otherAuth: string;
  close(): Promise<void>;
}

export async function exampleWorld(): Promise<ExampleWorld> {
  const closers: (() => Promise<void>)[] = [];
  const close = async () => {
    for (const c of closers.splice(0).reverse()) await c();
  };
  try {
    const dir = await mkdtemp(join(tmpdir(), "pullkeeper-every-target-"));
    closers.push(() => rm(dir, { recursive: true, force: true }));
    const github = await FakeGitHub.start({ token: GITHUB_TOKEN });
    closers.push(() => github.close());
    const gitpod = new FakeGitpod(GITPOD_TOKEN);
    const gitpodServer = await startServer((req, res) => gitpod.handle(req, res));
    closers.push(() => gitpodServer.close());
    const kube = new FakeApiServer(KUBE_TOKEN);
    kube.namespaces = new Set(["default"]);
    kube.serviceAccounts.set("default/default", { metadata: { name: "default", namespace: "default", resourceVersion: "1" }, imagePullSecrets: [{ name: "other-pull" }] });
    await kube.start();
    closers.push(() => kube.stop());
    const webhook = await webhookReceiver();
    closers.push(() => webhook.server.close());

    const kubeconfig = join(dir, "kubeconfig");
    await writeFile(kubeconfig, kubeconfigYaml(kube.port, KUBE_TOKEN), { mode: 0o600 });
    const dockerDir = join(dir, "docker");
    await mkdir(dockerDir, { mode: 0o700 });
    const dockerConfig = join(dockerDir, "config.json");
    const otherAuth = Buffer.from("someone:else").toString("base64");
    await writeFile(dockerConfig, `${JSON.stringify({ auths: { "other.example.com": { auth: otherAuth } }, psFormat: "table {{.ID}}" }, null, "\t")}\n`, { mode: 0o600 });

    const port = await freePort();
    const configPath = join(dir, "pullkeeper.yaml");
    await writeFile(
      configPath,
      render(await readFile(EXAMPLE, "utf8"), {
        REGISTRY_PORT: String(port),
        GITHUB_URL: github.url,
        GITPOD_URL: `${gitpodServer.url}/api`,
        GITPOD_PROJECT_ID,
        KUBECONFIG: kubeconfig,
        DOCKER_CONFIG: dockerDir,
        WEBHOOK_URL: `${webhook.server.url}/hooks/pullkeeper`,
      }),
    );

    // The tokens and the signing key the targets read, in the vault before the first rotation.
    const stateDir = join(dir, ".pullkeeper");
    await mkdir(stateDir, { mode: 0o700 });
    const seed = new LocalVault({ dir: join(stateDir, "vault") });
    await seed.createSecret("pullkeeper/github-token", credential("x-access-token", GITHUB_TOKEN));
    await seed.createSecret("pullkeeper/gitpod-token", credential("gitpod", GITPOD_TOKEN));
    await seed.createSecret("pullkeeper/webhook-key", credential("webhook", WEBHOOK_KEY));

    return { dir, configPath, stateDir, host: `127.0.0.1:${port}`, github, gitpod, kube, webhook, dockerConfig, otherAuth, close };
  } catch (error) {
    await close();
    throw error;
  }
}
