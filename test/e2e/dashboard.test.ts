import type { EnvironmentRecord } from "@pullkeeper/core";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../packages/local/src/net.js";
import { EmbeddedRuntime } from "../../packages/local/src/runtime.js";
import { withBrowser } from "../support/browser.js";
import { REGISTRY_YAML } from "../support/registries-yaml.js";

/**
 * The dashboard in a real browser (Debian's Chromium through playwright-core) against the embedded
 * runtime, with a ledger seeded the way a scan and a rotation would leave it: one environment made
 * stale two hours ago, one current, a rotation and a failed delivery.
 */

const OUTPUT = fileURLToPath(new URL("../../test-output/", import.meta.url));
const HOUR = 3_600_000;

const CONFIG = `registries:
${REGISTRY_YAML.hub}${REGISTRY_YAML.quay}`;

/** Consumers with delivery records seeded below; nothing is ever written to their paths (no schedule runs). */
const consumersYaml = (dir: string) => `consumers:
${[
  ["ci", "hub"],
  ["web", "hub"],
  ["robot", "quay"],
]
  .map(([id, registry]) => `  - id: ${id}\n    registry: ${registry}\n    target: { kind: docker-config, path: ${join(dir, "never-written", id as string, "config.json")} }\n`)
  .join("")}`;

let dir: string;
let runtime: EmbeddedRuntime;
let url: string;
let token: string;

function environment(name: string, verdict: EnvironmentRecord["verdict"], since: Date, held: string): EnvironmentRecord {
  const now = new Date();
  return {
    id: `ci.${name}`,
    registryId: "hub",
    consumerId: "ci",
    externalId: `arn:aws:codebuild:eu-west-1:123456789012:build/ci:${name}`,
    kind: "codebuild-build",
    name,
    startedAt: new Date(now.getTime() - 5 * HOUR),
    status: "IN_PROGRESS",
    url: `https://console.aws.amazon.com/codesuite/codebuild/builds/${name}`,
    verdict,
    heldVersionId: held,
    verdictSince: since,
    reason: verdict === "stale" ? "started before version v-new reached consumer ci" : "holds the current version",
    firstSeenAt: new Date(now.getTime() - 4 * HOUR),
    lastSeenAt: now,
  };
}

async function seed(rt: EmbeddedRuntime): Promise<void> {
  const now = Date.now();
  const { ledger } = rt;
  const hub = { registryId: "hub", host: "registry-1.docker.io", kind: "dockerhub", sourceType: "managed-secret", secretArn: "pullkeeper/hub" } as const;
  const quay = { registryId: "quay", host: "quay.io", kind: "quay", sourceType: "managed-secret", secretArn: "pullkeeper/quay" } as const;
  const verification = { status: "ok", detail: "GET /v2/ answered 200", checkedAt: new Date(now - 3 * HOUR) } as const;
  // 3 h into a 12 h lifetime: the bar stands at 75 %.
  await ledger.recordCurrentVersion(hub, { registryId: "hub", secretArn: "pullkeeper/hub", versionId: "v-new", fingerprint: "fp-new", createdAt: new Date(now - 3 * HOUR), expiresAt: new Date(now + 9 * HOUR), verification });
  await ledger.recordCurrentVersion(quay, { registryId: "quay", secretArn: "pullkeeper/quay", versionId: "q-1", fingerprint: "fp-q", createdAt: new Date(now - 30 * HOUR), verification });
  // q-2 took over an hour ago; q-1 is kept while a consumer still lacks q-2.
  await ledger.recordCurrentVersion(quay, { registryId: "quay", secretArn: "pullkeeper/quay", versionId: "q-2", fingerprint: "fp-q2", createdAt: new Date(now - HOUR), promotedAt: new Date(now - HOUR), verification });
  await ledger.recordRevocationStatus("quay", { versionId: "q-1", state: "waiting", reason: "0 of 1 consumers hold the current version; waiting for robot (failed)", checkedAt: new Date(now - 60_000), overlapEndsAt: new Date(now + 23 * HOUR) });
  await ledger.appendHistory({ type: "rotated", registryId: "hub", at: new Date(now - 2 * HOUR), secretArn: "pullkeeper/hub", versionId: "v-new", expiresAt: new Date(now + 9 * HOUR) });
  await ledger.appendHistory({ type: "delivered", registryId: "hub", at: new Date(now - 2 * HOUR + 60_000), consumerId: "web", versionId: "v-new", status: "verified" });
  await ledger.appendHistory({ type: "delivery-failed", registryId: "hub", at: new Date(now - HOUR), consumerId: "ci", versionId: "v-new", code: "unauthorized", message: "the provider answered 401" });
  await ledger.putEnvironment(environment("build-stale-7", "stale", new Date(now - 2 * HOUR), "v-old"));
  await ledger.putEnvironment(environment("build-current-8", "current", new Date(now - HOUR), "v-new"));
  await ledger.recordAuditSummary({ registryId: "hub", at: new Date(now - 60_000), counts: { current: 1, stale: 1, expired: 0, doomed: 0 }, discoveryFailures: 0 });
  // Deliveries: web holds v-new, ci failed for good (401), robot is retrying q-2.
  const request = (consumerId: string, registryId: string, versionId: string, created: number) => ({ consumerId, registryId, secretArn: `pullkeeper/${registryId}`, versionId, versionCreatedAt: new Date(created) });
  const web = request("web", "hub", "v-new", now - 3 * HOUR);
  await ledger.markPending(web, new Date(now - 2 * HOUR));
  await ledger.recordDelivered(web, { status: "verified", detail: "written and read back" }, new Date(now - 2 * HOUR + 60_000));
  const ci = request("ci", "hub", "v-new", now - 3 * HOUR);
  await ledger.markPending(ci, new Date(now - 2 * HOUR));
  await ledger.recordAttemptFailed(ci, { code: "unauthorized", message: "the provider answered 401" }, true, new Date(now - 10 * 60_000));
  const robot = request("robot", "quay", "q-2", now - HOUR);
  await ledger.markPending(robot, new Date(now - HOUR));
  await ledger.recordAttemptFailed(robot, { code: "throttled", message: "429 Too Many Requests" }, false, new Date(now - 60_000), { nextAttemptAt: new Date(now + 3 * 60_000), counted: true });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "pullkeeper-dashboard-"));
  const configPath = join(dir, "pullkeeper.yaml");
  await writeFile(configPath, CONFIG + consumersYaml(dir));
  runtime = await EmbeddedRuntime.start({ configPath, stateDir: join(dir, ".pullkeeper"), port: await freePort(), serve: true, schedule: false, log: () => undefined });
  url = runtime.server?.url ?? "";
  token = (await readFile(runtime.adminTokenPath, "utf8")).trim();
  await seed(runtime);
  await mkdir(OUTPUT, { recursive: true });
});

afterAll(async () => {
  await runtime?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Console errors and uncaught exceptions of a page, and the Authorization header of each /v1 request. */
function watch(page: Page) {
  const errors: string[] = [];
  const v1: { path: string; authorization: string | undefined }[] = [];
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("request", (r) => {
    const path = new URL(r.url()).pathname;
    if (path.startsWith("/v1/")) v1.push({ path, authorization: r.headers().authorization });
  });
  return { errors, v1 };
}

describe("dashboard in Chromium", () => {
  it("shows the seeded stale environment, the counts, the expiry bar and the timeline; the token leaves the URL", async () => {
    await withBrowser(async (browser) => {
      const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
      const seen = watch(page);
      await page.goto(`${url}/#token=${token}`);

      const stale = page.locator('[data-testid="environment"][data-verdict="stale"]');
      await stale.first().waitFor({ timeout: 15_000 });
      await expect.poll(() => stale.count()).toBe(1);
      expect(await stale.locator("th").innerText()).toBe("build-stale-7");
      expect(await stale.locator('[data-testid="for"]').innerText()).toMatch(/^stale for 2 h \d+ min$/);
      expect(await stale.locator("a").getAttribute("href")).toBe("https://console.aws.amazon.com/codesuite/codebuild/builds/build-stale-7");
      // Only stale, expired and doomed are listed: the current one is not.
      expect(await page.locator('[data-testid="environment"]').count()).toBe(1);
      expect(await page.locator('[data-testid="environments"]').innerText()).not.toContain("build-current-8");

      const hub = page.locator('[data-testid="registry"][data-registry-id="hub"]');
      expect(await hub.locator('[data-testid="count-stale"]').innerText()).toBe("1");
      expect(await hub.locator('[data-testid="count-expired"]').innerText()).toBe("0");
      expect(await hub.locator('[data-testid="count-doomed"]').innerText()).toBe("0");
      const bar = hub.locator('[data-testid="expiry-bar"][role="meter"]');
      expect(Number(await bar.getAttribute("aria-valuenow"))).toBeGreaterThanOrEqual(74);
      expect(Number(await bar.getAttribute("aria-valuenow"))).toBeLessThanOrEqual(75);
      expect(await bar.getAttribute("aria-valuetext")).toMatch(/^(9 h 0|8 h 59) min left of 12 h 0 min$/);
      const quay = page.locator('[data-testid="registry"][data-registry-id="quay"]');
      expect(await quay.locator('[data-testid="not-scanned"]').innerText()).toBe("not scanned yet");
      expect(await quay.locator('[data-testid="expiry"]').innerText()).toBe("does not expire");
      expect(await quay.locator('[data-testid="previous"]').innerText()).toBe("previous q-1: kept: 0 of 1 consumers hold the current version; waiting for robot (failed)");
      expect(await hub.locator('[data-testid="previous"]').count()).toBe(0);

      // Newest first; the routine delivery is not on the timeline.
      const timeline = page.locator('[data-testid="timeline-entry"]');
      expect(await timeline.evaluateAll((els) => els.map((e) => e.getAttribute("data-type")))).toEqual(["delivery-failed", "rotated"]);
      expect(await timeline.nth(0).innerText()).toContain("delivery of version v-new to ci failed: unauthorized: the provider answered 401");
      expect(await timeline.nth(1).innerText()).toContain("rotated to version v-new");

      // The token left the address bar and is nowhere in the page; every /v1 call carried it.
      expect(page.url()).toBe(`${url}/`);
      expect(await page.evaluate(() => location.href)).not.toContain(token);
      expect(await page.content()).not.toContain(token);
      expect(seen.v1.length).toBeGreaterThanOrEqual(6);
      expect(seen.v1.filter((r) => r.authorization !== `Bearer ${token}`)).toEqual([]);

      // "Refresh now" reads the API again: a newly doomed environment shows up.
      await runtime.ledger.putEnvironment(environment("build-doomed-9", "doomed", new Date(Date.now() - 10 * 60_000), "v-old"));
      await page.getByTestId("refresh").click();
      const doomed = page.locator('[data-testid="environment"][data-verdict="doomed"]');
      await doomed.first().waitFor({ timeout: 10_000 });
      expect(await doomed.locator('[data-testid="for"]').innerText()).toMatch(/^doomed for 1\d min$/);
      await runtime.ledger.removeEnvironment("hub", "ci.build-doomed-9");
      await page.getByTestId("refresh").click();
      await doomed.first().waitFor({ state: "detached", timeout: 10_000 });

      await page.screenshot({ path: join(OUTPUT, "dashboard.png"), fullPage: true });
      expect(seen.errors).toEqual([]);
    });
  }, 120_000);

  it("refuses a wrong token and shows the form; a pasted good token loads the data", async () => {
    await withBrowser(async (browser) => {
      const page = await browser.newPage();
      const { errors } = watch(page);
      await page.goto(`${url}/#token=not-the-token`);
      const message = page.getByTestId("auth-message");
      await expect.poll(() => message.innerText(), { timeout: 15_000 }).toBe("token refused: paste the admin token again");
      expect(await page.getByTestId("token-form").isVisible()).toBe(true);
      expect(await page.locator('[data-testid="environment"]').count()).toBe(0);
      expect(page.url()).toBe(`${url}/`);

      await page.locator("#token").fill(token);
      await page.locator('[data-testid="token-form"] button[type="submit"]').click();
      await page.locator('[data-testid="environment"][data-verdict="stale"]').first().waitFor({ timeout: 15_000 });
      expect(await page.getByTestId("token-form").isVisible()).toBe(false);
      // Chromium reports the refused request itself; nothing else went wrong.
      expect(errors.filter((e) => !/status of 401/.test(e))).toEqual([]);
    });
  }, 120_000);

  it("lists every consumer: version held, failed with its cause and when reconcile tries again, retrying with its next attempt", async () => {
    await withBrowser(async (browser) => {
      const page = await browser.newPage({ viewport: { width: 1400, height: 900 }, timezoneId: "UTC" });
      const { errors } = watch(page);
      await page.goto(`${url}/#token=${token}`);
      const rows = page.locator('[data-testid="delivery"]');
      await rows.first().waitFor({ timeout: 15_000 });
      // Failed first, then retrying, then those done.
      expect(await rows.evaluateAll((els) => els.map((e) => `${e.getAttribute("data-consumer-id")}:${e.getAttribute("data-state")}`))).toEqual(["ci:failed", "robot:retrying", "web:verified"]);
      const ci = page.locator('[data-testid="delivery"][data-consumer-id="ci"]');
      expect(await ci.locator('[data-testid="cause"]').innerText()).toBe("unauthorized: the provider answered 401");
      expect(await ci.locator('[data-testid="next"]').innerText()).toMatch(/^fix the cause and redeliver; reconcile tries again in \d+ min\n\d+ \w+, \d\d:\d\d UTC$/);
      expect(await ci.locator('[data-testid="held"]').innerText()).toMatch(/^none\s+asked for v-new$/);
      const robot = page.locator('[data-testid="delivery"][data-consumer-id="robot"]');
      expect(await robot.locator('[data-testid="next"]').innerText()).toMatch(/^next attempt in (2|3) min/);
      expect(await robot.locator('[data-testid="cause"]').innerText()).toBe("throttled: 429 Too Many Requests");
      const web = page.locator('[data-testid="delivery"][data-consumer-id="web"]');
      expect(await web.locator('[data-testid="held"]').innerText()).toBe("v-new (current)");
      expect(await web.locator('[data-testid="cause"]').innerText()).toBe("—");
      expect(errors).toEqual([]);
    });
  }, 120_000);

  it("gives every time its zone, in the browser's zone", async () => {
    await withBrowser(async (browser) => {
      for (const [timezoneId, zone] of [["UTC", "UTC"], ["Asia/Tokyo", "GMT+9"]] as const) {
        const page = await browser.newPage({ timezoneId, locale: "en-US" });
        await page.goto(`${url}/#token=${token}`);
        await page.locator('[data-testid="timeline-entry"]').first().waitFor({ timeout: 15_000 });
        const times = await page.locator("time").allInnerTexts();
        expect(times.length).toBeGreaterThan(3);
        for (const t of times) expect(t, timezoneId).toMatch(new RegExp(`^\\d{1,2} \\w{3}, \\d\\d:\\d\\d ${zone.replace("+", "\\+")}$`));
        expect(await page.getByTestId("status").innerText()).toMatch(new RegExp(`^updated \\d\\d:\\d\\d:\\d\\d ${zone.replace("+", "\\+")} · every 30 s$`));
        await page.close();
      }
    });
  }, 120_000);

  it("draws each registry's versions on a time line: an element per version, failures marked", async () => {
    await withBrowser(async (browser) => {
      const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
      const { errors } = watch(page);
      await page.goto(`${url}/#token=${token}`);
      const hub = page.locator('[data-testid="registry-line"][data-registry-id="hub"]');
      await hub.locator('[data-testid="version-span"]').first().waitFor({ timeout: 15_000 });
      expect(await hub.locator('[data-testid="version-span"]').evaluateAll((els) => els.map((e) => `${e.getAttribute("data-version-id")}:${e.getAttribute("data-role")}`))).toEqual(["v-new:current"]);
      // One failed delivery on hub's line; its expiry, 9 h out, is marked.
      expect(await hub.locator('[data-testid="failure-mark"]').count()).toBe(1);
      expect(await hub.locator('[data-testid="expiry-mark"]').count()).toBe(1);
      expect(await hub.locator('[data-testid="line-stale"]').innerText()).toBe("1 stale, 0 expired, 0 doomed");
      const quay = page.locator('[data-testid="registry-line"][data-registry-id="quay"]');
      expect(await quay.locator('[data-testid="version-span"]').evaluateAll((els) => els.map((e) => `${e.getAttribute("data-version-id")}:${e.getAttribute("data-role")}`))).toEqual(["q-1:previous", "q-2:current"]);
      expect(await quay.innerText()).toContain("not scanned yet");
      // Each bar spans its time: q-1 (30 h before q-2) is the wider one.
      const widths = await quay.locator('[data-testid="version-span"] rect').evaluateAll((els) => els.map((e) => Number(e.getAttribute("width"))));
      expect(widths[0]).toBeGreaterThan(widths[1] ?? Infinity);
      expect(errors).toEqual([]);
    });
  }, 120_000);

  it("before any scan says 'not scanned yet', not that every environment holds the current credential", async () => {
    const fresh = await mkdtemp(join(tmpdir(), "pullkeeper-dashboard-fresh-"));
    const configPath = join(fresh, "pullkeeper.yaml");
    await writeFile(configPath, CONFIG);
    const rt = await EmbeddedRuntime.start({ configPath, stateDir: join(fresh, ".pullkeeper"), port: await freePort(), serve: true, schedule: false, log: () => undefined });
    try {
      const freshToken = (await readFile(rt.adminTokenPath, "utf8")).trim();
      await withBrowser(async (browser) => {
        const page = await browser.newPage();
        await page.goto(`${rt.server?.url}/#token=${freshToken}`);
        const empty = page.getByTestId("environments-empty");
        await empty.waitFor({ timeout: 15_000 });
        expect(await empty.innerText()).toMatch(/^not scanned yet/);
        expect(await empty.innerText()).not.toContain("holds the current credential");
        expect(await page.locator('[data-testid="registry-line"]').count()).toBe(2);
        expect(await page.locator('[data-testid="version-span"]').count()).toBe(0);
      });
    } finally {
      await rt.stop();
      await rm(fresh, { recursive: true, force: true });
    }
  }, 120_000);

  it("without a token asks for one; an API error shows its code and message", async () => {
    await withBrowser(async (browser) => {
      const page = await browser.newPage();
      await page.goto(`${url}/`);
      await expect.poll(() => page.getByTestId("auth-message").innerText(), { timeout: 15_000 }).toBe("this API needs the admin token");

      await page.route("**/v1/environments*", (route) => route.fulfill({ status: 503, contentType: "application/json", body: JSON.stringify({ code: "unavailable", message: "the ledger did not answer" }) }));
      await page.locator("#token").fill(token);
      await page.locator('[data-testid="token-form"] button[type="submit"]').click();
      await expect.poll(() => page.getByTestId("error").innerText(), { timeout: 15_000 }).toBe("unavailable: the ledger did not answer");
      expect(await page.getByTestId("status").innerText()).toBe("last update failed");
    });
  }, 120_000);
});
