import { describe, expect, it } from "vitest";
import { type Credential, credential } from "../model/credential.js";
import { NotFoundError, PullkeeperError, UpstreamError } from "../model/errors.js";
import type { PullkeeperEvent } from "../model/events.js";
import type { CredentialVersion, Registry, TokenScope, VerificationStatus } from "../model/model.js";
import type { EventBus, Fingerprinter, HistoryEntry, RegistryLedger, RegistryRecord, RegistryState, RegistryVerifier, StagedVersion, StoredCredential, TokenSource, Vault, VerifyRequest, VersionToWrite } from "../model/ports.js";
import { RefreshService } from "./refresh.js";

const NOW = new Date("2026-11-23T12:00:00Z");
const HOUR = 3600_000;

function ecr(id: string, account: string, region: string): Registry {
  return { id, host: `${account}.dkr.ecr.${region}.amazonaws.com`, kind: "ecr", source: { type: "ecr-token", account, region }, secret: `pullkeeper/${id}`, verify: {} };
}

const secretArn = (secretId: string) => `arn:aws:secretsmanager:eu-west-1:123456789012:secret:${secretId}-AbCdEf`;

class World {
  mints: TokenScope[] = [];
  failingScopes = new Set<string>();
  /** Lifetime of the tokens the fake mints (ECR: 12 h). */
  lifetimeMs = 12 * HOUR;
  verdicts = new Map<string, VerificationStatus>();
  staged: { secretId: string; token: string }[] = [];
  promoted: { secretId: string; versionId: string }[] = [];
  states = new Map<string, RegistryState>();
  history: HistoryEntry[] = [];
  events: PullkeeperEvent[] = [];
  busDown = false;
  counter = 0;
  putOutcome: "created" | "existing" = "created";
  intents = new Map<string, VersionToWrite>();
  /** What each secret's AWSCURRENT holds, as the vault's read returns it. */
  currents = new Map<string, StoredCredential>();

  tokens: TokenSource = {
    mint: async (scope) => {
      this.mints.push(scope);
      if (this.failingScopes.has(scope.region)) throw new UpstreamError("access_denied", `no access in ${scope.region}`, false);
      return { credential: credential("AWS", `token-${scope.region}-${++this.counter}`), issuedAt: NOW, expiresAt: new Date(NOW.getTime() + this.lifetimeMs) };
    },
  };
  vault: Vault = {
    read: async (secretId, selector) => {
      const current = this.currents.get(secretId);
      if (!("stage" in selector) || selector.stage !== "AWSCURRENT") throw new Error("not used");
      if (current === undefined) throw new NotFoundError(`secret ${secretId} stage AWSCURRENT`);
      return current;
    },
    stagePending: async (secretId, _value, token): Promise<StagedVersion> => {
      this.staged.push({ secretId, token });
      return { arn: secretArn(secretId), versionId: token, outcome: "created" };
    },
    promote: async (secretId, versionId) => {
      this.promoted.push({ secretId, versionId });
    },
    // Written as current at once: staged and promoted in the one write ("existing": written before, not made current).
    putCurrent: async (secretId, _value, token): Promise<StagedVersion> => {
      this.staged.push({ secretId, token });
      if (this.putOutcome === "created") this.promoted.push({ secretId, versionId: token });
      return { arn: secretArn(secretId), versionId: token, outcome: this.putOutcome };
    },
  };
  verifier: RegistryVerifier = {
    verify: async (req: VerifyRequest) => ({ status: this.verdicts.get(req.host) ?? "ok", detail: "checked", checkedAt: NOW }),
  };
  fingerprints: Fingerprinter = {
    fingerprint: (c: Credential) => `fp-${c.password.length}`,
    requestToken: (secretId: string, c: Credential) => `${secretId}-${c.password.reveal().length}-token-0000000000000000`,
  };
  ledger: RegistryLedger = {
    registryState: async (id) => this.states.get(id),
    listRegistries: async () => ({ items: [...this.states.values()] }),
    recordCurrentVersion: async (r: RegistryRecord, v: CredentialVersion) => {
      this.states.set(r.registryId, { ...r, current: v, updatedAt: NOW });
      return "recorded";
    },
    appendHistory: async (e) => {
      this.history.push(e);
    },
    history: async () => ({ items: this.history }),
    recordWriteIntent: async (v) => {
      this.intents.set(v.registryId, v);
    },
    writeIntent: async (id) => this.intents.get(id),
  };
  bus: EventBus = {
    publish: async (events) => {
      if (this.busDown) throw new PullkeeperError("events_undelivered", "bus down");
      this.events.push(...events);
    },
  };

  service() {
    return new RefreshService({ ...this, clock: { now: () => NOW }, policy: { maxJitterSeconds: 0 } });
  }
}

describe("RefreshService", () => {
  it("mints once per (account, region), verifies, writes as current, records and announces each registry", async () => {
    const w = new World();
    const registries = [ecr("a", "123456789012", "eu-west-1"), ecr("b", "123456789012", "eu-west-1"), ecr("c", "123456789012", "us-east-1")];
    const report = await w.service().run(registries);
    expect(w.mints.map((m) => m.region).sort()).toEqual(["eu-west-1", "us-east-1"]);
    expect(report.results.map((r) => [r.registryId, r.outcome])).toEqual([["a", "refreshed"], ["b", "refreshed"], ["c", "refreshed"]]);
    expect(w.promoted.map((p) => p.secretId).sort()).toEqual(["pullkeeper/a", "pullkeeper/b", "pullkeeper/c"]);
    expect(w.states.get("a")?.current).toMatchObject({ versionId: w.staged[0]?.token, expiresAt: new Date(NOW.getTime() + 12 * HOUR) });
    expect(w.events).toHaveLength(3);
    for (const e of w.events) expect(Object.keys(e.detail).sort()).toEqual(["expiresAt", "registryId", "secretArn", "versionId"]);
    expect(report.earliestExpiry).toEqual(new Date(NOW.getTime() + 12 * HOUR));
    expect(w.history.filter((h) => h.type === "rotated")).toHaveLength(3);
  });

  it("promotes a token an earlier run wrote but never recorded (the write comes back 'existing'), then records and announces it", async () => {
    const w = new World();
    w.putOutcome = "existing";
    const report = await w.service().run([ecr("a", "123456789012", "eu-west-1")]);
    expect(report.results.map((r) => r.outcome)).toEqual(["refreshed"]);
    expect(w.promoted).toEqual([{ secretId: "pullkeeper/a", versionId: w.staged[0]?.token }]);
    expect(w.states.get("a")?.current?.versionId).toBe(w.staged[0]?.token);
    expect(w.events).toHaveLength(1);
  });

  it("records each token's write intent (its expiry and verification, under the write's request token) before writing it", async () => {
    const w = new World();
    await w.service().run([ecr("a", "123456789012", "eu-west-1")]);
    expect(w.intents.get("a")).toEqual({
      registryId: "a",
      versionId: w.staged[0]?.token,
      fingerprint: expect.any(String),
      createdAt: NOW,
      expiresAt: new Date(NOW.getTime() + 12 * HOUR),
      verification: { status: "ok", detail: "checked", checkedAt: NOW },
    });
  });

  describe("a run that stopped between writing its token and recording it", () => {
    const token = credential("AWS", "token-written-by-the-stopped-run");
    /** Ledger on an old token past its margin; the stopped run's intent; the vault serving `vaultServes`. */
    function stopped(w: World, intent: Partial<VersionToWrite> = {}, vaultServes: { versionId?: string; credential?: Credential } = {}) {
      const old = { registryId: "a", secretArn: secretArn("pullkeeper/a"), versionId: "v-old", fingerprint: "fp-old", createdAt: new Date(NOW.getTime() - 8 * HOUR), expiresAt: new Date(NOW.getTime() + 4 * HOUR), verification: { status: "ok" as const, detail: "", checkedAt: NOW } };
      w.states.set("a", { registryId: "a", host: "h", kind: "ecr", sourceType: "ecr-token", secretArn: old.secretArn, updatedAt: NOW, current: old });
      const written: VersionToWrite = { registryId: "a", versionId: "v-written", fingerprint: w.fingerprints.fingerprint(token), createdAt: new Date(NOW.getTime() - HOUR), expiresAt: new Date(NOW.getTime() + 11 * HOUR), verification: { status: "ok", detail: "checked", checkedAt: NOW }, ...intent };
      w.intents.set("a", written);
      w.currents.set("pullkeeper/a", { arn: old.secretArn, versionId: vaultServes.versionId ?? "v-written", stages: ["AWSCURRENT"], createdAt: NOW, credential: vaultServes.credential ?? token });
      return written;
    }

    it("is taken up by the next run: the vault's unrecorded current token is recorded and announced, nothing is minted", async () => {
      const w = new World();
      const written = stopped(w);
      const report = await w.service().run([ecr("a", "123456789012", "eu-west-1")]);
      expect(report.results).toEqual([{ registryId: "a", outcome: "refreshed", secretArn: secretArn("pullkeeper/a"), versionId: "v-written", expiresAt: written.expiresAt, reason: "unrecorded-write" }]);
      expect(w.mints).toHaveLength(0);
      expect(w.staged).toHaveLength(0);
      expect(w.states.get("a")?.current).toEqual({ ...written, secretArn: secretArn("pullkeeper/a") });
      expect(w.events.map((e) => e.detail)).toEqual([{ registryId: "a", secretArn: secretArn("pullkeeper/a"), versionId: "v-written", expiresAt: written.expiresAt?.toISOString() }]);
      expect(w.history.filter((h) => h.type === "rotated")).toHaveLength(1);
      expect(report.earliestExpiry).toEqual(written.expiresAt);
    });

    const mintsAsUsual: [string, (w: World) => void][] = [
      ["its write never happened (the vault serves another version)", (w) => stopped(w, {}, { versionId: "v-old" })],
      ["the vault's version carries another value than the one verified", (w) => stopped(w, {}, { credential: credential("AWS", "another-value-entirely") })],
      ["its token is due itself", (w) => stopped(w, { createdAt: new Date(NOW.getTime() - 11 * HOUR), expiresAt: new Date(NOW.getTime() + HOUR) })],
      ["the secret is empty", (w) => {
        stopped(w);
        w.currents.clear();
      }],
    ];
    for (const [name, arrange] of mintsAsUsual) {
      it(`is not taken up when ${name}: the registry is refreshed as usual`, async () => {
        const w = new World();
        arrange(w);
        const report = await w.service().run([ecr("a", "123456789012", "eu-west-1")]);
        expect(report.results).toEqual([expect.objectContaining({ outcome: "refreshed", reason: "within-margin" })]);
        expect(w.mints).toHaveLength(1);
        expect(w.states.get("a")?.current?.versionId).toBe(w.staged[0]?.token);
      });
    }

    it("is not looked for while the recorded token is fresh", async () => {
      const w = new World();
      stopped(w);
      w.states.set("a", { ...w.states.get("a")!, current: { ...w.states.get("a")!.current!, createdAt: NOW, expiresAt: new Date(NOW.getTime() + 12 * HOUR) } });
      const report = await w.service().run([ecr("a", "123456789012", "eu-west-1")]);
      expect(report.results[0]?.outcome).toBe("fresh");
      expect(w.states.get("a")?.current?.versionId).toBe("v-old");
    });
  });

  it("leaves a fresh token alone and still reports its expiry", async () => {
    const w = new World();
    const expiresAt = new Date(NOW.getTime() + 7 * HOUR);
    w.states.set("a", {
      registryId: "a", host: "h", kind: "ecr", sourceType: "ecr-token", secretArn: "arn", updatedAt: NOW,
      current: { registryId: "a", secretArn: "arn", versionId: "v0", fingerprint: "f", createdAt: new Date(NOW.getTime() - 5 * HOUR), expiresAt, verification: { status: "ok", detail: "", checkedAt: NOW } },
    });
    const report = await w.service().run([ecr("a", "123456789012", "eu-west-1")]);
    expect(report.results).toEqual([{ registryId: "a", outcome: "fresh", dueAt: new Date(NOW.getTime() + HOUR), expiresAt }]);
    expect(w.mints).toHaveLength(0);
    expect(report.earliestExpiry).toEqual(expiresAt);
  });

  it("never promotes a token that fails verification, and carries on with the others", async () => {
    const w = new World();
    const bad = ecr("bad", "123456789012", "eu-west-1");
    w.verdicts.set(bad.host, "unauthorized");
    const other = ecr("other", "210987654321", "eu-west-1");
    const report = await w.service().run([bad, other]);
    expect(report.results[0]).toMatchObject({ registryId: "bad", outcome: "failed", step: "verify", code: "verification_unauthorized" });
    expect(report.results[1]).toMatchObject({ registryId: "other", outcome: "refreshed" });
    expect(w.promoted.map((p) => p.secretId)).toEqual(["pullkeeper/other"]);
    expect(w.staged.map((p) => p.secretId)).toEqual(["pullkeeper/other"]);
    expect(w.states.has("bad")).toBe(false);
    expect(w.history.find((h) => h.registryId === "bad")).toMatchObject({ type: "verification-failed", status: "unauthorized" });
    expect(w.events.map((e) => e.detail.registryId)).toEqual(["other"]);
  });

  it("reports a failed mint for each registry of that scope only", async () => {
    const w = new World();
    w.failingScopes.add("ap-south-1");
    const report = await w.service().run([ecr("x", "123456789012", "ap-south-1"), ecr("y", "123456789012", "ap-south-1"), ecr("z", "123456789012", "eu-west-1")]);
    expect(report.results.map((r) => [r.registryId, r.outcome, r.outcome === "failed" ? r.code : ""])).toEqual([
      ["x", "failed", "access_denied"],
      ["y", "failed", "access_denied"],
      ["z", "refreshed", ""],
    ]);
    expect(w.history.filter((h) => h.type === "refresh-failed").map((h) => h.registryId)).toEqual(["x", "y"]);
  });

  it("reports undelivered events without undoing the rotation", async () => {
    const w = new World();
    w.busDown = true;
    const report = await w.service().run([ecr("a", "123456789012", "eu-west-1")]);
    expect(report.results[0]?.outcome).toBe("refreshed");
    expect(report.eventError).toBe("bus down");
  });

  it("refreshes only the named registries when asked, fresh or not, and ignores secrets it does not mint", async () => {
    const w = new World();
    const managed: Registry = { id: "hub", host: "registry-1.docker.io", kind: "dockerhub", source: { type: "managed-secret" }, secret: "hub", verify: {} };
    const report = await w.service().run([ecr("a", "123456789012", "eu-west-1"), ecr("b", "123456789012", "eu-west-1"), managed], { registryIds: ["b", "hub"], force: true });
    expect(report.results).toHaveLength(1);
    expect(report.results[0]).toMatchObject({ registryId: "b", outcome: "refreshed", reason: "forced" });
  });

  // Issue 11, defect 8: a token that is already expired when it arrives was promoted, announced,
  // and "refreshed" again on every run with a duplicate Credential Rotated event.
  it("never writes, promotes or announces a freshly minted token that is already expired, run after run", async () => {
    const w = new World();
    w.lifetimeMs = -1_000;
    for (let run = 0; run < 3; run++) {
      const report = await w.service().run([ecr("a", "123456789012", "eu-west-1")]);
      expect(report.results[0]).toMatchObject({ registryId: "a", outcome: "failed", step: "mint", code: "token_expired" });
    }
    expect(w.staged).toHaveLength(0);
    expect(w.promoted).toHaveLength(0);
    expect(w.events).toHaveLength(0);
    expect(w.states.has("a")).toBe(false);
    expect(w.history.filter((h) => h.type === "refresh-failed")).toHaveLength(3);
  });

  it("refuses a token that would expire before its own refresh margin is over", async () => {
    const w = new World();
    w.lifetimeMs = 30_000;
    const report = await w.service().run([ecr("a", "123456789012", "eu-west-1")]);
    expect(report.results[0]).toMatchObject({ outcome: "failed", step: "mint", code: "token_expired" });
    expect(w.promoted).toHaveLength(0);
  });
});
