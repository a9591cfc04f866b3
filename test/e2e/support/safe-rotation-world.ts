import { credential, type Credential } from "@pullkeeper/core";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { LocalVault } from "../../../packages/local/src/vault/local-vault.js";
import { FakeGitHub } from "../../support/fake-github.js";
import { basicStatus, eventually, type Workspace, workspace } from "./harness.js";

/**
 * Issue 11's world: the workspace's htpasswd registry served by a real docker-registry, and
 * GitHub consumers behind the GitHub API stand-in — codespaces secrets (whose codespaces the
 * audit can list) and Actions secrets (which it cannot) — with the GitHub token in the vault.
 */

export const GITHUB_TOKEN = "ghp_safeRotationE2eToken0123456789abcdef";
export const CODESPACES = ["codespaces-1", "codespaces-2", "codespaces-3"];
export const ACTIONS = ["actions-1", "actions-2"];
export const CONSUMERS = [...CODESPACES, ...ACTIONS];

export interface SafeRotationWorld extends Workspace {
  readonly github: FakeGitHub;
  login(versionId?: string): Promise<Credential & { versionId: string }>;
  opens(c: Credential): Promise<number>;
  close(): Promise<void>;
}

export async function safeRotationWorld(): Promise<SafeRotationWorld> {
  const ws = await workspace();
  const github = await FakeGitHub.start({ token: GITHUB_TOKEN });
  const common = `tokenSecret: pullkeeper/github-token, baseUrl: "${github.url}"`;
  const consumers = [
    ...CODESPACES.map((id, i) => `  - id: ${id}\n    registry: local\n    target: { kind: codespaces-secret, scope: repository, repository: acme/app-${i + 1}, prefix: LOCAL, ${common} }\n`),
    ...ACTIONS.map((id, i) => `  - id: ${id}\n    registry: local\n    target: { kind: github-actions-secret, scope: repository, repository: acme/ci-${i + 1}, usernameSecret: LOCAL_REGISTRY_USERNAME, passwordSecret: LOCAL_REGISTRY_PASSWORD, ${common} }\n`),
  ].join("");
  // Scans only at start and on demand, so the test decides when "a scan found no environment".
  await writeFile(ws.configPath, `${await readFile(ws.configPath, "utf8")}consumers:\n${consumers}settings:\n  auditSchedule: rate(1 day)\n  clockSkew: 1s\n`);
  await mkdir(ws.stateDir, { recursive: true, mode: 0o700 });
  await new LocalVault({ dir: join(ws.stateDir, "vault") }).createSecret("pullkeeper/github-token", credential("x-access-token", GITHUB_TOKEN));
  const vault = () => new LocalVault({ dir: join(ws.stateDir, "vault") });
  return {
    ...ws,
    github,
    login: async (versionId) => {
      const stored = await vault().read("pullkeeper/local", versionId === undefined ? { stage: "AWSCURRENT" } : { versionId });
      return Object.assign(stored.credential, { versionId: stored.versionId });
    },
    opens: (c) => basicStatus(ws.registryUrl, c.username, c.password.reveal()),
    close: async () => {
      await github.close();
      await rm(ws.dir, { recursive: true, force: true });
    },
  };
}

/** Calls the runtime's API with the admin token from the state directory. */
export async function api(baseUrl: string, stateDir: string, method: string, path: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const token = (await readFile(join(stateDir, "admin-token"), "utf8")).trim();
  const response = await fetch(`${baseUrl}${path}`, { method, headers: { authorization: `Bearer ${token}` } });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

interface ConsumerRow {
  id: string;
  delivery: { state: string; versionId: string; deliveredVersionId: string | null } | null;
}

export async function consumerRows(baseUrl: string, stateDir: string): Promise<ConsumerRow[]> {
  return (await api(baseUrl, stateDir, "GET", "/v1/consumers?limit=100")).body.items as ConsumerRow[];
}

/** Waits until every declared consumer holds `versionId`. */
export function allHold(baseUrl: string, stateDir: string, versionId: string, ms: number): Promise<ConsumerRow[]> {
  return eventually(async () => {
    const rows = (await consumerRows(baseUrl, stateDir)).filter((r) => CONSUMERS.includes(r.id));
    return rows.length === CONSUMERS.length && rows.every((r) => r.delivery?.deliveredVersionId === versionId) ? rows : undefined;
  }, ms, `every consumer holding ${versionId}`);
}
