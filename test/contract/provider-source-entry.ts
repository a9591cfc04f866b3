import { randomUUID } from "node:crypto";
import {
  type Credential,
  credential,
  type CredentialIssuer,
  type MintPorts,
  modelSource,
  type ProviderHttp,
  type Registry,
  type RegistryKind,
  type RegistrySource,
  SOURCE_MODULES,
  type SourcePorts,
  systemClock,
} from "@pullkeeper/core";
import { FetchProviderHttp, RandomPasswords } from "@pullkeeper/registry";
import { awsCallerIdentity } from "../../packages/aws/src/gcp-subject-token.js";
import { type CredentialRegistry, startCredentialRegistry } from "../support/credential-registry.js";
import type { ScriptedOutcome } from "../support/provider-fake.js";
import type { Obtained, ProviderFault, SourceContractEntry, SourceHarness } from "./source-contract.js";

/**
 * What the contract entries of the sources that call a provider's API share: a real
 * docker-registry (test/support/credential-registry.ts) with the provider's fake in front of it,
 * which installs every credential it hands out in the registry, so "the upstream holds it" is the
 * registry's own answer; the source's runtime (the module's `load()`) built over the source block
 * as the config parses it (`modelSource`) and the ports the wiring would pass; the provider's
 * failures mapped to the fake's scripted answers; and, at close, no request that departs from the
 * provider's API description. Each entry (test/contract/<provider>-source-entry.ts) says only what
 * is its provider's own.
 */

/** What the harness lets a source's hooks do while it runs. */
export interface ProviderEntryContext {
  /** The issuer's first slot, which `obtain` issues into (sources with slots); undefined otherwise. */
  readonly slot: string | undefined;
  /** A credential value the hook seeded or scripted: it joins those that may show nowhere. */
  keepHidden(value: string): void;
}

/** The admin login the vault holds for the source (`adminCredential`'s answer). */
export interface AdminLogin {
  readonly username: string;
  readonly secret: string;
}

/** A source that `rotates`: `obtain` is its issuer's `issue`, as createSecret calls it. */
export interface Issuing<Fake> {
  readonly by: "issuer";
  admin(fake: Fake): AdminLogin;
  /** Issue into the first of the issuer's two slots (the source alternates between slots); otherwise without a slot. */
  readonly slotted?: boolean;
  /** Runs once the issuer is built, before the contract's test (a robot that exists already). */
  prepare?(fake: Fake, context: ProviderEntryContext): Promise<void>;
  /** The issued credential's expiry, as the fake recorded it; undefined for one without. */
  expiresAt?(fake: Fake, issued: Credential, request: { readonly slot?: string; readonly versionId: string }): Date | undefined;
}

/** A source that `mints`: `obtain` is its minter's `mint`, as the refresh function calls it, over made-up AWS credentials of the function. */
export interface Minting {
  readonly by: "minter";
}

export interface ProviderSourceSpec<Fake> {
  /** The config's source.type. */
  readonly sourceType: string;
  readonly variant?: string;
  /** The provider's name, as errors say it: "Docker Hub". */
  readonly provider: string;
  /** What the fake checks requests against; default "<provider>'s API description". */
  readonly description?: string;
  /** The Registry entry's id (its secret is `pullkeeper/<id>`) and kind. */
  readonly registry: { readonly id: string; readonly kind: RegistryKind };
  /** Starts the provider's fake, installing what it hands out in `registry`. */
  startFake(registry: CredentialRegistry): Promise<Fake>;
  /** The source block without its type, as a config would have it against the fake. */
  source(fake: Fake): Record<string, unknown>;
  readonly obtain: Issuing<Fake> | Minting;
  /** Scripts one answer of the fake to the next request it matches. */
  failNext(fake: Fake, failure: ScriptedOutcome): void;
  /** The faults that are the provider's own; `false` for one the provider cannot give. Throttling, 5xx, reset and hang go through `failNext`. */
  faults(fake: Fake, context: ProviderEntryContext): Readonly<Record<"admin_rejected" | "quota", () => void | false>>;
  /** Makes the fake answer with something unusable that carries (or would carry) a value. */
  breakUpstream(fake: Fake, context: ProviderEntryContext): void | Promise<void>;
  /** The requests that departed from the provider's API description, read before the fake stops. */
  violations(fake: Fake): readonly string[];
  stopFake(fake: Fake): Promise<void>;
}

/** The contract entry of a source over its provider's fake. */
export function providerSourceEntry<Fake extends { readonly url: string }>(spec: ProviderSourceSpec<Fake>): SourceContractEntry {
  return {
    sourceType: spec.sourceType,
    ...(spec.variant !== undefined && { variant: spec.variant }),
    start: () => startHarness(spec),
  };
}

async function startHarness<Fake extends { readonly url: string }>(spec: ProviderSourceSpec<Fake>): Promise<SourceHarness> {
  const { sourceType, obtain: how } = spec;
  const module = SOURCE_MODULES.find((m) => m.type === sourceType);
  const runtime = (await module?.load?.())?.default;
  const missing = () => new Error(`no ${sourceType} module with an ${how.by}`);
  if (module === undefined || runtime?.[how.by] === undefined) throw missing();
  const registry = await startCredentialRegistry();
  const fake = await spec.startFake(registry);
  const parsed = module.schema.parse({ type: sourceType, ...spec.source(fake) });
  const entry = { id: spec.registry.id, host: registry.host, kind: spec.registry.kind, secret: `pullkeeper/${spec.registry.id}`, source: modelSource(parsed as RegistrySource) } as Registry;
  // The hang fault is waited out for 1 s, so its case stays quick; every other call gets the
  // production budget: a fake that writes the registry's htpasswd (bcrypt) answered after more
  // than 1 s on a loaded CI machine, and the contract's first case failed as a timeout.
  const patient = new FetchProviderHttp();
  const impatient = new FetchProviderHttp({ timeoutMs: 1000 });
  let hanging = false;
  const http: ProviderHttp = { request: (provider, request) => (hanging ? impatient : patient).request(provider, request) };
  const produced: string[] = [];
  let slot: string | undefined;
  let obtain: () => Promise<Obtained>;
  const flow: { registry: Registry; issuer?: CredentialIssuer; mintPorts?: MintPorts } = { registry: { ...entry, verify: { endpoint: registry.url } } };

  if (how.by === "issuer") {
    const admin = how.admin(fake);
    produced.push(admin.secret);
    const ports: SourcePorts = {
      accounts: () => {
        throw new Error(`${spec.provider} keeps no password file`);
      },
      passwords: new RandomPasswords(),
      http,
      adminCredential: async () => credential(admin.username, admin.secret),
      clock: systemClock,
    };
    const issuer = runtime?.issuer?.(entry, ports);
    if (issuer === undefined) throw missing();
    flow.issuer = issuer;
    if (how.slotted) {
      slot = issuer.slots?.[0];
      if (slot === undefined) throw new Error(`the ${sourceType} issuer has no slots`);
    }
    obtain = async () => {
      const request = { ...(slot !== undefined && { slot }), versionId: randomUUID() };
      const issued = await issuer.issue(request);
      produced.push(issued.password.reveal());
      const expiresAt = how.expiresAt?.(fake, issued, request);
      return { credential: issued, ...(expiresAt !== undefined && { expiresAt }) };
    };
  } else {
    const aws = { accessKeyId: "AKIAFAKECONTRACT0001", secretAccessKey: `secret-${randomUUID()}`, sessionToken: `session-${randomUUID()}` };
    produced.push(aws.secretAccessKey, aws.sessionToken);
    const ports: MintPorts = {
      tokens: {
        mint: () => Promise.reject(new Error(`${spec.provider}'s tokens are not ECR's`)),
      },
      http,
      awsCallerIdentity: awsCallerIdentity({ region: "eu-west-1", credentials: aws }),
      clock: systemClock,
    };
    flow.mintPorts = ports;
    const minter = runtime?.minter?.(entry, ports);
    if (minter === undefined) throw missing();
    obtain = async () => {
      const minted = await minter.mint();
      produced.push(minted.credential.password.reveal());
      return { credential: minted.credential, expiresAt: minted.expiresAt };
    };
  }

  const context: ProviderEntryContext = { slot, keepHidden: (value) => void produced.push(value) };
  if (how.by === "issuer") await how.prepare?.(fake, context);
  const fail = (failure: ScriptedOutcome) => () => spec.failNext(fake, failure);
  const every = () => true;
  const faults: Record<ProviderFault, () => void | false> = {
    ...spec.faults(fake, context),
    throttled_retry_after: fail({ status: 429, headers: { "retry-after": "30" }, match: every }),
    throttled: fail({ status: 429, match: every }),
    server: fail({ status: 503, match: every }),
    server_500: fail({ status: 500, match: every }),
    reset: fail({ reset: true, match: every }),
    hang: () => {
      hanging = true;
      return fail({ hang: true, match: every })();
    },
  };
  return {
    obtain,
    holds: async (c) => (await registry.basic(c.username, c.password.reveal())) === 200,
    values: () => produced,
    failProvider: (fault) => faults[fault](),
    breakUpstream: () => spec.breakUpstream(fake, context),
    flow,
    close: async () => {
      const violations = [...spec.violations(fake)];
      await spec.stopFake(fake);
      await registry.stop();
      // Every request the source sent must match the provider's description of the operation.
      if (violations.length > 0) throw new Error(`requests departing from ${spec.description ?? `${spec.provider}'s API description`}: ${violations.join("; ")}`);
    },
  };
}
