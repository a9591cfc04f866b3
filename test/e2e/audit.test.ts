import { mkdir, readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { EmbeddedRuntime } from "../../packages/local/src/runtime.js";
import { withBrowser } from "../support/browser.js";
import { fakePod } from "../support/fake-kubernetes.js";
import { exampleWorld, KUBE_TOKEN } from "./support/example-world.js";
import { eventually, freePort, runCli } from "./support/harness.js";

/**
 * Issue 7's "Done means", in the embedded runtime with examples/every-target.yaml (rendered against
 * the fakes): rotate, leave one environment running from before the rotation, and both
 * `pullkeeper audit --verdict stale` and the dashboard show exactly that environment as stale.
 * The environments are pods in the fake Kubernetes API server, found by the real Kubernetes target.
 */

const OUTPUT = fileURLToPath(new URL("../../test-output/", import.meta.url));
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Kubernetes times have second precision. */
const k8sTime = (ms: number) => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(".000Z", "Z");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("audit in the embedded runtime with the example config (issue 7, Done means)", () => {
  it("shows exactly the environment left running from before the rotation as stale, in the CLI and the dashboard", async () => {
    const world = await exampleWorld();
    cleanups.push(() => world.close());
    const port = await freePort();
    const runtime = await EmbeddedRuntime.start({ configPath: world.configPath, stateDir: world.stateDir, port, htpasswdCost: 4, log: () => undefined, delivery: { baseBackoffMs: 50 } });
    cleanups.push(() => runtime.stop());
    const token = (await readFile(runtime.adminTokenPath, "utf8")).trim();

    const deliveredTo = (consumerId: string, versionId: string) =>
      eventually(async () => {
        const d = await runtime.ledger.consumerDelivery("local", consumerId);
        return d?.deliveredVersionId === versionId && d.deliveredAt ? d.deliveredAt : undefined;
      }, 60_000, `${consumerId} to hold ${versionId}`);

    // The first rotation (at start) reaches the cluster; then a pod starts and loads it.
    const v1 = await eventually(async () => (await runtime.ledger.registryState("local"))?.current?.versionId, 30_000, "the first rotation");
    const v1At = await deliveredTo("cluster-default", v1);
    world.kube.addPod(fakePod("web-old-7f9c", { namespace: "default", imagePullSecrets: ["local-registry"], startTime: k8sTime(v1At.getTime() + 1_000) }));
    // Past the clock-skew allowance (5 s), so the rotation below is unambiguously after the pod's start.
    await sleep(Math.max(0, v1At.getTime() + 7_000 - Date.now()));

    // Rotate. The old pod keeps running; a new one starts after the new version is delivered.
    const rotated = (await runtime.refresh(runtime.config.registries[0] as never)) as { versionId: string };
    const v2 = rotated.versionId;
    expect(v2).not.toBe(v1);
    const v2At = await deliveredTo("cluster-default", v2);
    world.kube.addPod(fakePod("web-new-2b1d", { namespace: "default", serviceAccountName: "default", startTime: k8sTime(v2At.getTime() + 1_000) }));
    // A pod that references another secret is not this consumer's environment at all.
    world.kube.addPod(fakePod("other-app-1", { namespace: "default", imagePullSecrets: ["other-pull"], serviceAccountName: "builder", startTime: k8sTime(v1At.getTime()) }));

    // ---- the CLI, as on-call runs it against the running runtime -----------------------------
    // Asynchronously: the runtime answering the CLI lives in this process.
    const cli = (args: string[]) => runCli(args, { configPath: world.configPath, stateDir: world.stateDir, port }, 60_000);
    const json = await cli(["audit", "--verdict", "stale", "--scan", "--json"]);
    expect(json.status, json.stderr).toBe(0);
    const stale = JSON.parse(json.stdout) as { name: string; consumer: string; verdict: string; heldVersionId: string | null; kind: string }[];
    expect(stale).toEqual([expect.objectContaining({ name: "web-old-7f9c", consumer: "cluster-default", kind: "kubernetes-pod", verdict: "stale", heldVersionId: v1 })]);

    const table = await cli(["audit", "--verdict", "stale"]);
    expect(table.status, table.stderr).toBe(0);
    expect(table.stdout).toContain("web-old-7f9c");
    expect(table.stdout).not.toContain("web-new-2b1d");
    const everything = JSON.parse((await cli(["audit", "--json"])).stdout) as { name: string; verdict: string }[];
    expect(everything.map((e) => `${e.name}:${e.verdict}`).sort()).toEqual(["web-new-2b1d:current", "web-old-7f9c:stale"]);
    const history = await cli(["history", "local", "--json"]);
    expect((JSON.parse(history.stdout) as { type: string; name?: string; to?: string }[]).filter((e) => e.type === "environment-verdict").map((e) => `${e.name}:${e.to}`).sort()).toEqual(["web-new-2b1d:current", "web-old-7f9c:stale"]);

    // propagate: every consumer already holds v2, so nothing is queued and it exits 0; --force re-sends to all seven.
    const propagate = await cli(["propagate", "--registry", "local", "--force", "--json"]);
    expect(propagate.status, propagate.stderr).toBe(0);
    expect(JSON.parse(propagate.stdout)).toMatchObject({ registry: "local", versionId: v2, consumers: 7, failed: [], waiting: [], plan: { requested: 7 } });
    const unknown = await cli(["propagate", "--registry", "nope"]);
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toContain("registry nope not found");

    // ---- the same answer over HTTP needs the token ------------------------------------------
    const url = runtime.server?.url as string;
    expect((await fetch(`${url}/v1/environments?verdict=stale`)).status).toBe(401);
    expect((await fetch(`${url}/v1/environments?verdict=stale`, { headers: { authorization: "Bearer not-the-token" } })).status).toBe(401);

    // ---- the dashboard ----------------------------------------------------------------------
    await mkdir(OUTPUT, { recursive: true });
    await withBrowser(async (browser) => {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(e.message));
      await page.goto(`${url}/#token=${token}`);
      const rows = page.locator('[data-testid="environment"]');
      await rows.first().waitFor({ timeout: 15_000 });
      expect(await rows.count()).toBe(1);
      await expect.poll(() => rows.first().innerText()).toContain("web-old-7f9c");
      expect(await rows.first().getAttribute("data-verdict")).toBe("stale");
      expect(await page.locator('[data-registry-id="local"] [data-testid="count-stale"]').innerText()).toBe("1");
      // The current pod is in no stale list (the timeline shows it was judged current).
      expect(await page.locator('[data-testid="environments"]').innerText()).not.toContain("web-new-2b1d");
      expect(await page.locator('[data-testid="timeline"]').innerText()).toContain("web-new-2b1d (cluster-default): new → current");
      await page.screenshot({ path: `${OUTPUT}audit-done-means.png`, fullPage: true });
      expect(errors).toEqual([]);
    });

    // Nothing the CLI printed carries a credential or a token.
    const current = await runtime.vault.read("pullkeeper/local", { stage: "AWSCURRENT" });
    for (const out of [json.stdout, json.stderr, table.stdout, history.stdout]) {
      for (const secret of [current.credential.password.reveal(), token, KUBE_TOKEN]) expect(out).not.toContain(secret);
    }
  }, 120_000);
});
