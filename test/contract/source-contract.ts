import { type Credential, type CredentialIssuer, type MintPorts, PullkeeperError, type Registry, type SourceModule } from "@pullkeeper/core";
import { afterEach, describe, expect, it } from "vitest";
import { capturingOutput, visibleText } from "./target-contract.js";

/**
 * The contract every credential source passes with its fake: it returns a credential the
 * upstream holds, with an expiry or none as its module declares (`capabilities.expires`); it never
 * shows the value (in what it returns, an error or a log line); and the AWS-backed ones classify
 * AWS's failures alike. The suite runs per registered source module (SOURCE_MODULES); a source
 * joins by one entry in the list given to `sourceContract` (test/contract/sources.test.ts).
 */

/** AWS's failures, as the SDK throws them after its own retries. */
export type AwsFault = "throttled" | "denied" | "not_found" | "server" | "reset" | "timeout";

export interface Obtained {
  readonly credential: Credential;
  readonly expiresAt?: Date;
}

export interface SourceHarness {
  /** Gets the credential the source provides now, as refresh or rotation does. */
  obtain(): Promise<Obtained>;
  /** Read back through the fake: does the upstream hold (or accept) this credential? */
  holds(credential: Credential): Promise<boolean>;
  /** Every credential value the harness seeded or saw produced: none may show anywhere. */
  values(): readonly string[];
  /** Makes the source's next AWS call fail so. Absent for a source that calls no AWS API. */
  failAws?(fault: AwsFault): void;
  /**
   * Makes the provider's API fail so (every call until `obtain` returns). Absent for a source that
   * calls no provider API; `false` for a failure the provider cannot give (Quay has no robot quota).
   */
  failProvider?(fault: ProviderFault): void | false;
  /** Makes the upstream answer with something unusable that carries a value (a token without expiry, a malformed secret, an unwritable file). */
  breakUpstream(): void | Promise<void>;
  /** What the faults suite (test/faults) runs the source's real flow with, over the same fake. Absent for a source it does not drive this way. */
  readonly flow?: SourceFlow;
  close(): Promise<void>;
}

/** A provider-backed source as its flow meets it: rotation through its issuer, or refresh through its minter. */
export interface SourceFlow {
  /** The registry entry, verified against the registry behind the provider's fake. */
  readonly registry: Registry;
  /** Rotating sources: the issuer the harness built (the one `obtain` issues through). */
  readonly issuer?: CredentialIssuer;
  /** Minting sources: the ports the refresh function gives its minter. */
  readonly mintPorts?: MintPorts;
}

export interface SourceContractEntry {
  /** The config's source.type. */
  readonly sourceType: string;
  /** Which variant of it, where one type covers several (ecr-token: ecr, ecr-public). */
  readonly variant?: string;
  start(): Promise<SourceHarness>;
}

export const AWS_FAULTS: readonly { readonly fault: AwsFault; readonly code: string; readonly retryable: boolean }[] = [
  { fault: "throttled", code: "throttled", retryable: true },
  { fault: "denied", code: "access_denied", retryable: false },
  { fault: "not_found", code: "not_found", retryable: false },
  { fault: "server", code: "aws_error", retryable: true },
  { fault: "reset", code: "aws_error", retryable: true },
  { fault: "timeout", code: "aws_error", retryable: true },
];

/** A provider API's failures, as a source's runtime meets them through ProviderHttp. */
export type ProviderFault = "admin_rejected" | "quota" | "throttled_retry_after" | "throttled" | "server" | "server_500" | "reset" | "hang";

export const PROVIDER_FAULTS: readonly { readonly fault: ProviderFault; readonly code: string; readonly retryable: boolean }[] = [
  { fault: "admin_rejected", code: "admin_rejected", retryable: false },
  { fault: "quota", code: "quota_reached", retryable: false },
  { fault: "throttled_retry_after", code: "provider_throttled", retryable: true },
  { fault: "throttled", code: "provider_throttled", retryable: true },
  { fault: "server", code: "provider_unavailable", retryable: true },
  { fault: "server_500", code: "provider_unavailable", retryable: true },
  { fault: "reset", code: "provider_unavailable", retryable: true },
  { fault: "hang", code: "provider_unavailable", retryable: true },
];

function expectHidden(text: string, values: readonly string[], where: string): void {
  for (const value of values) expect(text.includes(value), `${where} shows a credential value`).toBe(false);
}

/** Errors without `retryable` (NotFoundError) are final: nothing marks them worth a retry. */
function retryable(error: PullkeeperError): boolean {
  return (error as PullkeeperError & { retryable?: boolean }).retryable === true;
}

/** The contract of each registered source module, run with each of its entries (one per variant). */
export function sourceContract(modules: readonly SourceModule[], entries: readonly SourceContractEntry[]): void {
  for (const module of modules) {
    for (const entry of entries.filter((e) => e.sourceType === module.type)) contractOf(module, entry);
  }
}

function contractOf(module: SourceModule, entry: SourceContractEntry): void {
  const { expires } = module.capabilities;
  const name = entry.variant === undefined ? entry.sourceType : `${entry.sourceType} (${entry.variant})`;
  describe(`source contract: ${name}`, () => {
    let harness: SourceHarness | undefined;
    const start = async (): Promise<SourceHarness> => (harness = await entry.start());
    afterEach(async () => {
      await harness?.close();
      harness = undefined;
    });

    it(`returns a credential the upstream holds, ${expires ? "with an expiry in the future" : "without an expiry"}, and shows the value nowhere`, async () => {
      const h = await start();
      const before = Date.now();
      const { settled, output } = await capturingOutput(() => h.obtain());
      expect(settled.error, visibleText(settled.error)).toBeUndefined();
      const obtained = settled.value as Obtained;
      expect(await h.holds(obtained.credential)).toBe(true);
      if (expires) expect(obtained.expiresAt?.getTime()).toBeGreaterThan(before);
      else expect(obtained.expiresAt).toBeUndefined();
      expect(h.values()).toContain(obtained.credential.password.reveal());
      expectHidden(`${visibleText(obtained)} ${String(obtained.credential.password)}`, h.values(), "what it returns");
      expectHidden(output, h.values(), "the log");
    });

    it("refuses an unusable upstream answer with an error that does not show the value", async () => {
      const h = await start();
      await h.breakUpstream();
      const { settled, output } = await capturingOutput(() => h.obtain());
      expect(settled.error, `obtained ${visibleText(settled.value)}`).toBeInstanceOf(Error);
      expectHidden(visibleText(settled.error), h.values(), "the error");
      expectHidden(output, h.values(), "the log");
    });

    /** One fault case: `fail` arranges it (false: the source cannot meet it), then obtain must fail with `code`, classified, hiding every value. */
    const faultCase = (title: string, code: string, expected: boolean, fail: (h: SourceHarness) => boolean) =>
      it(`classifies ${title} as ${code}, ${expected ? "retryable" : "final"}`, async (ctx) => {
        const h = await start();
        if (!fail(h)) return ctx.skip();
        const { settled, output } = await capturingOutput(() => h.obtain());
        expect(settled.error, `obtained ${visibleText(settled.value)}`).toBeInstanceOf(PullkeeperError);
        const error = settled.error as PullkeeperError;
        expect(error.code, error.message).toBe(code);
        expect(retryable(error), error.message).toBe(expected);
        expectHidden(visibleText(error), h.values(), "the error");
        expectHidden(output, h.values(), "the log");
      });
    for (const { fault, code, retryable: expected } of AWS_FAULTS) {
      faultCase(`AWS ${fault}`, code, expected, (h) => h.failAws !== undefined && (h.failAws(fault), true));
    }
    for (const { fault, code, retryable: expected } of PROVIDER_FAULTS) {
      faultCase(`the provider's ${fault}`, code, expected, (h) => h.failProvider !== undefined && h.failProvider(fault) !== false);
    }
  });
}
