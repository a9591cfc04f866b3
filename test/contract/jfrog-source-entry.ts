import { randomUUID } from "node:crypto";
import { FakeJFrog } from "../support/fake-jfrog.js";
import { providerSourceEntry } from "./provider-source-entry.js";

const USERNAME = "ci-pull";

/**
 * The JFrog source's contract entry: its runtime creates an access token through the fake JFrog
 * Platform, whose requests are checked against the description of JFrog's Access Tokens API, and
 * which installs every live token in a real docker-registry as a login of its user.
 */
export const jfrogEntry = providerSourceEntry({
  sourceType: "jfrog-token",
  provider: "JFrog",
  registry: { id: "jfrog", kind: "generic" },
  startFake: (registry) => FakeJFrog.start(registry, { adminToken: `admin-${randomUUID()}` }),
  source: (jfrog) => ({ admin: "pullkeeper/jfrog-admin", api: jfrog.url, username: USERNAME }),
  obtain: {
    by: "issuer",
    // The token the vault holds, read at the start; the admin_rejected fault changes the one JFrog accepts.
    admin: (jfrog) => ({ username: "admin", secret: jfrog.adminToken }),
    expiresAt: (jfrog, _issued, { versionId }) => {
      const token = [...jfrog.tokens.values()].find((t) => t.description === `pullkeeper ${versionId}`);
      return token && token.expiresIn > 0 ? new Date(token.issuedAt + token.expiresIn * 1000) : undefined;
    },
  },
  failNext: (jfrog, failure) => jfrog.failNext(failure),
  faults: (jfrog) => ({
    admin_rejected: () => {
      jfrog.adminToken = `another-${randomUUID()}`;
    },
    // JFrog documents no cap on live tokens: this is the source's reading of a refusal that names their number (wording assumed).
    quota: () => jfrog.failNext({ status: 403, body: { errors: [{ code: "FORBIDDEN", message: "Maximum number of tokens reached for user" }] }, match: (r) => r.method === "POST" }),
  }),
  // A token whose expiry is an hour, not the lifetime asked: unusable, and its value must not be quoted back.
  breakUpstream: (jfrog, { keepHidden }) => {
    const value = `eyJ.${randomUUID()}.${randomUUID()}`;
    keepHidden(value);
    jfrog.failNext({ status: 200, body: { token_id: randomUUID(), access_token: value, expires_in: 3600, scope: "applied-permissions/user", token_type: "Bearer" }, match: (r) => r.method === "POST" });
  },
  violations: (jfrog) => jfrog.takeViolations(),
  stopFake: (jfrog) => jfrog.close(),
});
