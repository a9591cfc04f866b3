/** Every credential source's contract entry, with its fake: the source contract and the faults suite (test/faults) run over this list. */
import { ECRClient, GetAuthorizationTokenCommand } from "@aws-sdk/client-ecr";
import { ECRPUBLICClient, GetAuthorizationTokenCommand as GetPublicAuthorizationTokenCommand } from "@aws-sdk/client-ecr-public";
import { GetSecretValueCommand } from "@aws-sdk/client-secrets-manager";
import { credential } from "@pullkeeper/core";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { mockClient } from "aws-sdk-client-mock";
import { awsError } from "../../packages/aws/src/consumers/shared/testing.js";
import { EcrTokenSource } from "../../packages/aws/src/ecr-token-source.js";
import { SecretsManagerVault } from "../../packages/aws/src/secrets-manager-vault.js";
import { HtpasswdFile } from "../../packages/registry/src/htpasswd/htpasswd-file.js";
import { RandomPasswords } from "../../packages/registry/src/htpasswd/random-passwords.js";
import { FakeSecretsManager } from "../support/fake-secrets-manager.js";
import { CONTRACT_PASSWORD } from "./target-contract.js";
import { dockerHubEntry } from "./dockerhub-source-entry.js";
import { gitlabEntry } from "./gitlab-source-entry.js";
import { jfrogEntry } from "./jfrog-source-entry.js";
import { quayEntry } from "./quay-source-entry.js";
import { harborEntry } from "./harbor-source-entry.js";
import { googleEntry } from "./google-source-entry.js";
import { acrEntry } from "./acr-source-entry.js";
import type { AwsFault, SourceContractEntry, SourceHarness } from "./source-contract.js";

const ACCOUNT = "123456789012";

function awsFault(fault: AwsFault): Error {
  switch (fault) {
    case "throttled":
      return awsError("ThrottlingException", "Rate exceeded", 400);
    case "denied":
      return awsError("AccessDeniedException", `User: arn:aws:sts::${ACCOUNT}:assumed-role/pullkeeper-refresh/fn is not authorized to perform this action`, 400);
    case "not_found":
      return awsError("ResourceNotFoundException", "The resource could not be found", 400);
    case "server":
      return awsError("InternalServerError", "We encountered an internal error", 500);
    case "reset":
      return Object.assign(new Error("socket hang up"), { code: "ECONNRESET", $metadata: {} });
    case "timeout":
      return Object.assign(new Error("Connection timed out after 1000 ms"), { name: "TimeoutError", $metadata: {} });
  }
}

/** base64("AWS:<password>"), as ECR and ECR Public hand out. */
const ecrToken = (password: string): string => Buffer.from(`AWS:${password}`).toString("base64");

function ecr(kind: "ecr" | "ecr-public"): SourceContractEntry {
  return {
    sourceType: "ecr-token",
    variant: kind,
    async start(): Promise<SourceHarness> {
      const password = `${CONTRACT_PASSWORD}-${kind}`;
      const token = ecrToken(password);
      const expiresAt = new Date(Date.now() + 12 * 3600_000);
      const values = [password, token];
      if (kind === "ecr") {
        const client = new ECRClient({ region: "eu-west-1", maxAttempts: 1 });
        const mock = mockClient(client);
        mock.on(GetAuthorizationTokenCommand).resolves({ authorizationData: [{ authorizationToken: token, expiresAt, proxyEndpoint: `https://${ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com` }] });
        const source = new EcrTokenSource({ ecr: () => client });
        return {
          obtain: () => source.mint({ kind, account: ACCOUNT, region: "eu-west-1" }),
          holds: async (c) => c.username === "AWS" && c.password.reveal() === password,
          values: () => values,
          failAws: (fault) => void mock.on(GetAuthorizationTokenCommand).rejects(awsFault(fault)),
          // A token without its expiry: unusable, and the token must not be quoted back.
          breakUpstream: () => void mock.on(GetAuthorizationTokenCommand).resolves({ authorizationData: [{ authorizationToken: token }] }),
          close: async () => undefined,
        };
      }
      const client = new ECRPUBLICClient({ region: "us-east-1", maxAttempts: 1 });
      const mock = mockClient(client);
      mock.on(GetPublicAuthorizationTokenCommand).resolves({ authorizationData: { authorizationToken: token, expiresAt } });
      const source = new EcrTokenSource({ ecrPublic: () => client });
      return {
        obtain: () => source.mint({ kind, account: ACCOUNT, region: "us-east-1" }),
        holds: async (c) => c.username === "AWS" && c.password.reveal() === password,
        values: () => values,
        failAws: (fault) => void mock.on(GetPublicAuthorizationTokenCommand).rejects(awsFault(fault)),
        breakUpstream: () => void mock.on(GetPublicAuthorizationTokenCommand).resolves({ authorizationData: { authorizationToken: token } }),
        close: async () => undefined,
      };
    },
  };
}

const managedSecret: SourceContractEntry = {
  sourceType: "managed-secret",
  async start() {
    const sm = new FakeSecretsManager();
    const vault = new SecretsManagerVault(sm.client);
    const password = `${CONTRACT_PASSWORD}-managed`;
    let id = sm.seed("pullkeeper/contract-managed", JSON.stringify({ username: "robot", password }));
    return {
      obtain: async () => ({ credential: (await vault.read(id, { stage: "AWSCURRENT" })).credential }),
      holds: async (c) => {
        const held = JSON.parse((await sm.client.send(new GetSecretValueCommand({ SecretId: id }))).SecretString ?? "{}") as { username?: string; password?: string };
        return held.username === c.username && held.password === c.password.reveal();
      },
      values: () => [password],
      failAws: (fault) => void sm.mock.on(GetSecretValueCommand).rejects(awsFault(fault)),
      // Someone stored the value under the wrong field name: refused, without quoting it.
      breakUpstream: () => {
        id = sm.seed("pullkeeper/contract-malformed", JSON.stringify({ username: "robot", passwd: password }));
      },
      close: async () => sm.mock.restore(),
    };
  },
};

const htpasswd: SourceContractEntry = {
  sourceType: "htpasswd",
  async start() {
    const dir = await mkdtemp(join(tmpdir(), "pullkeeper-contract-htpasswd-"));
    const passwords = new RandomPasswords();
    const produced: string[] = [];
    let file = new HtpasswdFile(join(dir, "htpasswd"), { cost: 4 });
    return {
      // Rotation's source step: a new password, set for the idle user.
      obtain: async () => {
        const password = passwords.generate();
        produced.push(password.reveal());
        await file.setPassword("pullkeeper-a", password);
        return { credential: credential("pullkeeper-a", password.reveal()) };
      },
      holds: (c) => file.check(c.username, c.password.reveal()),
      values: () => produced,
      // The file cannot be written (its directory is a regular file): the error names the path, not the password.
      breakUpstream: async () => {
        await writeFile(join(dir, "blocker"), "");
        file = new HtpasswdFile(join(dir, "blocker", "htpasswd"), { cost: 4 });
      },
      close: () => rm(dir, { recursive: true, force: true }),
    };
  },
};

/**
 * Every credential source, one line each (ecr-token once per token kind): the suite runs over the
 * registered source modules (SOURCE_MODULES), and a registered type without a line here fails below.
 */
export const SOURCE_ENTRIES: readonly SourceContractEntry[] = [ecr("ecr"), ecr("ecr-public"), managedSecret, htpasswd, dockerHubEntry("organization"), dockerHubEntry("personal"), quayEntry("organization"), quayEntry("user"), jfrogEntry, gitlabEntry("project deploy-token"), gitlabEntry("group deploy-token"), gitlabEntry("group access-token"), harborEntry("project, new robot"), harborEntry("system, existing robot"), googleEntry, acrEntry("200"), acrEntry("202 + Location")];

