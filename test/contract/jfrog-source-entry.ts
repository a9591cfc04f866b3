import { randomUUID } from "node:crypto";
import { credential, type Registry, SOURCE_MODULES, type SourcePorts, systemClock, modelSource, type RegistrySource } from "@pullkeeper/core";
import { FetchProviderHttp, RandomPasswords } from "@pullkeeper/registry";
import { startCredentialRegistry } from "../support/credential-registry.js";
import { FakeJFrog } from "../support/fake-jfrog.js";
import type { ProviderFault, SourceContractEntry, SourceHarness } from "./source-contract.js";

const USERNAME = "ci-pull";

/**
 * The JFrog source's contract entry: its runtime (the module's `load()`) creates an access token
 * through the fake JFrog Platform, whose requests are checked against the description of JFrog's
 * Access Tokens API, and which installs every live token in a real docker-registry as a login of
 * its user, so "the upstream holds it" is the registry's own answer.
 */
export const jfrogEntry: SourceContractEntry = {
  sourceType: "jfrog-token",
  async start(): Promise<SourceHarness> {
    const module = SOURCE_MODULES.find((m) => m.type === "jfrog-token");
    const runtime = (await module?.load?.())?.default;
    if (module === undefined || runtime?.issuer === undefined) throw new Error("no jfrog-token module with an issuer");
    const registry = await startCredentialRegistry();
    const adminToken = `admin-${randomUUID()}`;
    const jfrog = await FakeJFrog.start(registry, { adminToken });
    const parsed = module.schema.parse({ type: "jfrog-token", admin: "pullkeeper/jfrog-admin", api: jfrog.url, username: USERNAME });
    const entry = { id: "jfrog", host: registry.host, kind: "generic", secret: "pullkeeper/jfrog", source: modelSource(parsed as RegistrySource) } as Registry;
    const ports: SourcePorts = {
      accounts: () => {
        throw new Error("JFrog keeps no password file");
      },
      passwords: new RandomPasswords(),
      http: new FetchProviderHttp({ timeoutMs: 1000 }),
      adminCredential: async () => credential("admin", adminToken),
      clock: systemClock,
    };
    const issuer = runtime.issuer(entry, ports);
    const produced: string[] = [adminToken];
    const every = () => true;
    const faults: Record<ProviderFault, () => void> = {
      admin_rejected: () => {
        jfrog.adminToken = `another-${randomUUID()}`;
      },
      // JFrog documents no cap on live tokens: this is the source's reading of a refusal that names their number (wording assumed).
      quota: () => jfrog.failNext({ status: 403, body: { errors: [{ code: "FORBIDDEN", message: "Maximum number of tokens reached for user" }] }, match: (r) => r.method === "POST" }),
      throttled_retry_after: () => jfrog.failNext({ status: 429, headers: { "retry-after": "30" }, match: every }),
      throttled: () => jfrog.failNext({ status: 429, match: every }),
      server: () => jfrog.failNext({ status: 503, match: every }),
      reset: () => jfrog.failNext({ reset: true, match: every }),
      hang: () => jfrog.failNext({ hang: true, match: every }),
    };
    return {
      obtain: async () => {
        const versionId = randomUUID();
        const issued = await issuer.issue({ versionId });
        produced.push(issued.password.reveal());
        const token = [...jfrog.tokens.values()].find((t) => t.description === `pullkeeper ${versionId}`);
        return { credential: issued, ...(token && token.expiresIn > 0 && { expiresAt: new Date(token.issuedAt + token.expiresIn * 1000) }) };
      },
      holds: async (c) => (await registry.basic(c.username, c.password.reveal())) === 200,
      values: () => produced,
      failProvider: (fault) => faults[fault](),
      // A token whose expiry is an hour, not the lifetime asked: unusable, and its value must not be quoted back.
      breakUpstream: () => {
        const value = `eyJ.${randomUUID()}.${randomUUID()}`;
        produced.push(value);
        jfrog.failNext({ status: 200, body: { token_id: randomUUID(), access_token: value, expires_in: 3600, scope: "applied-permissions/user", token_type: "Bearer" }, match: (r) => r.method === "POST" });
      },
      close: async () => {
        const violations = jfrog.takeViolations();
        await jfrog.close();
        await registry.stop();
        // Every request the source sent must match the description of JFrog's API.
        if (violations.length > 0) throw new Error(`requests departing from JFrog's API description: ${violations.join("; ")}`);
      },
    };
  },
};
