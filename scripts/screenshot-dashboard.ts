import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "../packages/local/src/net.js";
import { EmbeddedRuntime } from "../packages/local/src/runtime.js";
import { eventually } from "../test/e2e/support/harness.js";
import { withBrowser } from "../test/support/browser.js";

/**
 * npm run screenshot: docs/dashboard.png for the README, taken from a real run, not a mock-up. The
 * embedded runtime serves an htpasswd registry with three docker-config consumers; the credential is
 * rotated twice, then one consumer's directory becomes a file so its next delivery fails for good,
 * and the audit scans. Chromium (Debian's, through playwright-core) opens the page at 1280x800.
 */

const OUT = fileURLToPath(new URL("../docs/dashboard.png", import.meta.url));

const until = <T>(what: string, probe: () => Promise<T | undefined>): Promise<T> => eventually(probe, 60_000, what);

const dir = await mkdtemp(join(tmpdir(), "pullkeeper-screenshot-"));
const registryPort = await freePort();
const consumers = ["ci-runner", "laptop", "build-box"];
await writeFile(
  join(dir, "pullkeeper.yaml"),
  `registries:
  - id: local
    host: 127.0.0.1:${registryPort}
    kind: generic
    source:
      type: htpasswd
      file: registry/htpasswd
      rotation: rate(1 day)
      serve: { port: ${registryPort} }
    secret: pullkeeper/local
    verify: { endpoint: "http://127.0.0.1:${registryPort}" }
consumers:
${consumers.map((id) => `  - id: ${id}\n    registry: local\n    target: { kind: docker-config, path: ${join(dir, id, "config.json")} }\n`).join("")}`,
);
const runtime = await EmbeddedRuntime.start({ configPath: join(dir, "pullkeeper.yaml"), stateDir: join(dir, ".pullkeeper"), port: await freePort(), htpasswdCost: 4, log: () => undefined, delivery: { baseBackoffMs: 50 } });
try {
  const api = runtime.auditApi();
  const call = async (method: string, path: string, query: Record<string, string> = {}) => {
    const response = await api.handle({ method, path, query });
    if (response.status >= 400) throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(response.body)}`);
    return response.body as Record<string, unknown>;
  };
  const everyoneHolds = (version: string) =>
    until(`every consumer holding ${version}`, async () => {
      const { items } = (await call("GET", "/v1/consumers")) as { items: { delivery: { deliveredVersionId: string | null } | null }[] };
      return items.every((c) => c.delivery?.deliveredVersionId === version) ? true : undefined;
    });
  const current = async () => (await runtime.ledger.registryState("local"))?.current?.versionId;

  const first = await until("the first rotation", current);
  await everyoneHolds(first);
  // The previous user must be revoked before the next rotation may reuse it.
  await until("the first version's predecessor out of the way", async () => ((await call("POST", "/v1/registries/local/refresh", { force: "true" })).outcome === "rotated" ? true : undefined));
  const second = await until("the second rotation", async () => ((await current()) !== first ? await current() : undefined));
  await everyoneHolds(second as string);

  // build-box's directory becomes a file: the next delivery to it cannot succeed, whatever the retries.
  await rm(join(dir, "build-box"), { recursive: true, force: true });
  await writeFile(join(dir, "build-box"), "");
  await call("POST", "/v1/registries/local/propagate", { force: "true" });
  await until("build-box failed for good", async () => {
    const { items } = (await call("GET", "/v1/consumers")) as { items: { id: string; delivery: { state: string } | null }[] };
    return items.find((c) => c.id === "build-box")?.delivery?.state === "failed" ? true : undefined;
  });
  await call("POST", "/v1/environments/scan");

  const token = (await readFile(runtime.adminTokenPath, "utf8")).trim();
  await mkdir(dirname(OUT), { recursive: true });
  await withBrowser(async (browser) => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 }, timezoneId: "UTC", locale: "en-GB", colorScheme: "light" });
    await page.goto(`${runtime.server?.url}/#token=${token}`);
    await page.locator('[data-testid="version-span"]').first().waitFor({ timeout: 30_000 });
    await page.locator('[data-testid="delivery"][data-state="failed"]').first().waitFor({ timeout: 30_000 });
    await page.screenshot({ path: OUT, fullPage: false });
  });
  console.log(`${relative(process.cwd(), OUT)} written`);
} finally {
  await runtime.stop();
  await rm(dir, { recursive: true, force: true });
}
