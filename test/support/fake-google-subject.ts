/**
 * What Google's STS reads from an AWS subject token (urn:ietf:params:aws:token-type:aws4_request):
 * a URL-encoded JSON `{url, method, headers: [{key, value}]}` that is an STS GetCallerIdentity
 * request signed with SigV4, bound to one provider by a signed `x-goog-cloud-target-resource`
 * header (cloud.google.com/iam/docs/workload-identity-federation-with-other-clouds; the same shape
 * google-auth-library's AwsClient writes).
 *
 * The stand-in checks the shape only. It cannot verify the signature: Google does that by sending
 * the request to AWS, which knows the secret key; the stand-in never sees one. So a well-formed
 * token with a wrong signature passes here and would fail at Google.
 */

export interface AwsSubject {
  /** The access key id the request was signed with (Credential=<id>/…): who the caller says it is. */
  readonly accessKeyId: string;
  readonly region: string;
  /** The signed x-goog-cloud-target-resource: the provider the token is for. */
  readonly targetResource: string;
  /** Whether a session token came with it (a role's temporary credentials, as in Lambda). */
  readonly session: boolean;
}

const AUTHORIZATION = /^AWS4-HMAC-SHA256 Credential=([A-Z0-9]{16,128})\/(\d{8})\/([a-z0-9-]+)\/sts\/aws4_request, SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$/;
const STS_HOST = /^sts(?:\.([a-z0-9-]+))?\.amazonaws\.com$/;

/** The subject, or why the token is not a signed GetCallerIdentity request (never quoting it). */
export function parseAwsSubject(token: string): AwsSubject | { readonly problem: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(decodeURIComponent(token));
  } catch {
    return { problem: "not URL-encoded JSON" };
  }
  const { url, method, headers } = (parsed ?? {}) as { url?: unknown; method?: unknown; headers?: unknown };
  if (typeof url !== "string" || method !== "POST" || !Array.isArray(headers)) return { problem: "expected {url, method: POST, headers: [{key, value}]}" };
  const values = new Map<string, string>();
  for (const h of headers as unknown[]) {
    const { key, value } = (h ?? {}) as { key?: unknown; value?: unknown };
    if (typeof key !== "string" || typeof value !== "string") return { problem: "a header is not {key, value} strings" };
    values.set(key.toLowerCase(), value);
  }
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    return { problem: "url is not a URL" };
  }
  const host = STS_HOST.exec(target.hostname);
  if (target.protocol !== "https:" || host === null) return { problem: "url is not an AWS STS endpoint" };
  if (target.searchParams.get("Action") !== "GetCallerIdentity" || target.searchParams.get("Version") !== "2011-06-15") return { problem: "not a GetCallerIdentity request (Action, Version)" };
  if (values.get("host") !== target.hostname) return { problem: "the host header is not the url's host" };
  if (!/^\d{8}T\d{6}Z$/.test(values.get("x-amz-date") ?? "")) return { problem: "no x-amz-date" };
  const auth = AUTHORIZATION.exec(values.get("authorization") ?? "");
  if (auth === null) return { problem: "no SigV4 Authorization for sts" };
  const [, accessKeyId = "", date = "", region = "", signed = ""] = auth;
  if (!(values.get("x-amz-date") ?? "").startsWith(date)) return { problem: "the credential scope's date is not x-amz-date's" };
  if (host[1] !== undefined && host[1] !== region) return { problem: "signed for another region than the url's" };
  const signedHeaders = signed.split(";");
  const targetResource = values.get("x-goog-cloud-target-resource");
  if (targetResource === undefined || !signedHeaders.includes("x-goog-cloud-target-resource")) return { problem: "x-goog-cloud-target-resource is not signed in" };
  if (!signedHeaders.includes("host") || !signedHeaders.includes("x-amz-date")) return { problem: "host and x-amz-date are not signed in" };
  const session = values.has("x-amz-security-token");
  if (session && !signedHeaders.includes("x-amz-security-token")) return { problem: "x-amz-security-token is not signed in" };
  return { accessKeyId, region, targetResource, session };
}
