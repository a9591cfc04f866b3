import { createHash, createHmac } from "node:crypto";
import { defaultProvider } from "@aws-sdk/credential-provider-node";
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider, Checksum, SourceData } from "@aws-sdk/types";
import { SignatureV4 } from "@smithy/signature-v4";

/**
 * The subject token Google's workload identity federation takes from AWS
 * (cloud.google.com/iam/docs/workload-identity-federation-with-other-clouds): an STS
 * GetCallerIdentity request signed with the function's own credentials but never sent by us.
 * Google's STS sends it to AWS itself and learns the caller's ARN from the answer; the
 * `x-goog-cloud-target-resource` header, signed in, binds it to one provider, so the signed
 * request is worthless to any other audience. GetCallerIdentity needs no IAM permission.
 * Serialized as Google's client libraries do: JSON `{url, method, headers: [{key, value}]}`,
 * URL-encoded.
 */

export interface AwsCallerIdentityOptions {
  /** AWS_REGION by default: the regional STS endpoint the request names. */
  readonly region?: string;
  /** The SDK's default chain by default (the Lambda role's, or AWS_ACCESS_KEY_ID… in the environment). */
  readonly credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  /** The signing time (tests). */
  readonly now?: () => Date;
}

/** SHA-256 and HMAC-SHA-256 over node:crypto, in the shape SignatureV4 takes. */
class NodeSha256 implements Checksum {
  readonly #secret: SourceData | undefined;
  #hash: ReturnType<typeof createHash> | ReturnType<typeof createHmac>;

  constructor(secret?: SourceData) {
    this.#secret = secret;
    this.#hash = this.#fresh();
  }

  update(data: SourceData): void {
    this.#hash.update(bytes(data));
  }

  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.#hash.digest()));
  }

  reset(): void {
    this.#hash = this.#fresh();
  }

  #fresh() {
    return this.#secret === undefined ? createHash("sha256") : createHmac("sha256", bytes(this.#secret));
  }
}

function bytes(data: SourceData): Uint8Array {
  if (typeof data === "string") return Buffer.from(data, "utf8");
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return new Uint8Array(data);
}

/** `awsCallerIdentity` (core's MintPorts): signs a GetCallerIdentity request for `targetResource`. */
export function awsCallerIdentity(options: AwsCallerIdentityOptions = {}): (targetResource: string) => Promise<string> {
  const credentials = options.credentials ?? defaultProvider();
  return async (targetResource) => {
    const region = options.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
    if (region === undefined || region === "") throw new Error("AWS_REGION is not set: the GetCallerIdentity request Google's federation checks names a regional STS endpoint");
    const host = `sts.${region}.amazonaws.com`;
    const query = { Action: "GetCallerIdentity", Version: "2011-06-15" };
    const signer = new SignatureV4({ service: "sts", region, credentials, sha256: NodeSha256, applyChecksum: false });
    const signed = await signer.sign(
      { method: "POST", protocol: "https:", hostname: host, path: "/", query, headers: { host, "x-goog-cloud-target-resource": targetResource } },
      { ...(options.now && { signingDate: options.now() }) },
    );
    const headers = Object.entries(signed.headers).map(([key, value]) => ({ key, value }));
    const url = `https://${host}/?${new URLSearchParams(query).toString()}`;
    return encodeURIComponent(JSON.stringify({ url, method: "POST", headers }));
  };
}
