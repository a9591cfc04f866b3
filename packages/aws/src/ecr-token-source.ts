import { ECRClient, GetAuthorizationTokenCommand } from "@aws-sdk/client-ecr";
import { ECRPUBLICClient, GetAuthorizationTokenCommand as GetPublicAuthorizationTokenCommand } from "@aws-sdk/client-ecr-public";
import { AssumeRoleCommand, STSClient } from "@aws-sdk/client-sts";
import type { AwsCredentialIdentity } from "@aws-sdk/types";
import { type Clock, decodeBasicToken, type MintedToken, PullkeeperError, systemClock, type TokenScope, type TokenSource } from "@pullkeeper/core";
import { clientOptions } from "./clients.js";
import { classifyAwsError } from "./errors.js";

export interface EcrTokenSourceOptions {
  readonly clock?: Clock;
  /** Client factories, so tests and other endpoints can be swapped in; defaults build real clients. */
  readonly ecr?: (region: string, credentials?: AwsCredentialIdentity) => ECRClient;
  readonly ecrPublic?: (credentials?: AwsCredentialIdentity) => ECRPUBLICClient;
  readonly sts?: (region: string) => STSClient;
  readonly sessionName?: string;
}

/** An assumed role's credentials are used again while they have at least this long to live. */
const REUSE_MARGIN_MS = 5 * 60_000;

/**
 * Mints ECR and ECR Public authorization tokens. A token acts with the permissions of the
 * principal that minted it, so `roleArn` (assumed first) decides what consumers can pull. A role
 * is assumed once for all its scopes (an account's regions): STS credentials hold in every region.
 */
export class EcrTokenSource implements TokenSource {
  readonly #clock: Clock;
  readonly #ecr: NonNullable<EcrTokenSourceOptions["ecr"]>;
  readonly #ecrPublic: NonNullable<EcrTokenSourceOptions["ecrPublic"]>;
  readonly #sts: NonNullable<EcrTokenSourceOptions["sts"]>;
  readonly #sessionName: string;
  /** By role and external id; concurrent mints of one role share the call. */
  readonly #assumed = new Map<string, Promise<AwsCredentialIdentity>>();

  constructor(options: EcrTokenSourceOptions = {}) {
    this.#clock = options.clock ?? systemClock;
    this.#ecr = options.ecr ?? ((region, credentials) => new ECRClient({ ...clientOptions(region), ...(credentials && { credentials }) }));
    // ECR Public's token API exists only in us-east-1.
    this.#ecrPublic = options.ecrPublic ?? ((credentials) => new ECRPUBLICClient({ ...clientOptions("us-east-1"), ...(credentials && { credentials }) }));
    this.#sts = options.sts ?? ((region) => new STSClient(clientOptions(region)));
    this.#sessionName = options.sessionName ?? "pullkeeper-refresh";
  }

  async mint(scope: TokenScope): Promise<MintedToken> {
    const where = `${scope.kind} token for account ${scope.account} in ${scope.region}`;
    const credentials = scope.roleArn === undefined ? undefined : await this.#roleCredentials(scope, where);
    const issuedAt = this.#clock.now();
    try {
      if (scope.kind === "ecr-public") {
        const out = await this.#ecrPublic(credentials).send(new GetPublicAuthorizationTokenCommand({}));
        const data = out.authorizationData;
        return this.#token(where, data?.authorizationToken, data?.expiresAt, issuedAt, "https://public.ecr.aws");
      }
      const out = await this.#ecr(scope.region, credentials).send(new GetAuthorizationTokenCommand({}));
      const data = out.authorizationData?.[0];
      return this.#token(where, data?.authorizationToken, data?.expiresAt, issuedAt, data?.proxyEndpoint);
    } catch (error) {
      throw classifyAwsError(error, where);
    }
  }

  #token(where: string, token: string | undefined, expiresAt: Date | undefined, issuedAt: Date, proxyEndpoint: string | undefined): MintedToken {
    if (token === undefined || expiresAt === undefined) {
      throw new PullkeeperError("aws_error", `${where}: the response had no authorizationToken or expiresAt`);
    }
    return { credential: decodeBasicToken(token), issuedAt, expiresAt: new Date(expiresAt), ...(proxyEndpoint !== undefined && { proxyEndpoint }) };
  }

  async #roleCredentials(scope: TokenScope, where: string): Promise<AwsCredentialIdentity> {
    const key = `${scope.roleArn ?? ""}|${scope.externalId ?? ""}`;
    const known = this.#assumed.get(key);
    if (known !== undefined) {
      const credentials = await known.catch(() => undefined);
      if (credentials && (credentials.expiration === undefined || credentials.expiration.getTime() - this.#clock.now().getTime() > REUSE_MARGIN_MS)) return credentials;
      // Another mint renewed them meanwhile: use theirs.
      const renewed = this.#assumed.get(key);
      if (renewed !== undefined && renewed !== known) return renewed;
    }
    // Set before any await, so concurrent mints of this role find it.
    const assumed = this.#assume(scope, where);
    this.#assumed.set(key, assumed);
    // A failure is not kept: the next mint asks STS again.
    assumed.catch(() => this.#assumed.get(key) === assumed && this.#assumed.delete(key));
    return assumed;
  }

  async #assume(scope: TokenScope, where: string): Promise<AwsCredentialIdentity> {
    try {
      const out = await this.#sts(scope.region).send(
        new AssumeRoleCommand({
          RoleArn: scope.roleArn,
          RoleSessionName: this.#sessionName,
          DurationSeconds: 900,
          ...(scope.externalId !== undefined && { ExternalId: scope.externalId }),
        }),
      );
      const c = out.Credentials;
      if (!c?.AccessKeyId || !c.SecretAccessKey) throw new PullkeeperError("aws_error", `${where}: AssumeRole returned no credentials`);
      return { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, ...(c.SessionToken && { sessionToken: c.SessionToken }), ...(c.Expiration && { expiration: c.Expiration }) };
    } catch (error) {
      throw classifyAwsError(error, `${where}: assuming ${scope.roleArn}`);
    }
  }
}
