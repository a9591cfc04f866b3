import { createHash, createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { awsCallerIdentity } from "./gcp-subject-token.js";

const PROVIDER = "//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/aws-pool/providers/aws-prod";
const CREDENTIALS = { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", sessionToken: "session-example" };

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");
const hmac = (key: Buffer | string, text: string) => createHmac("sha256", key).update(text).digest();

/** SigV4 written out from AWS's description (docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html), independent of @smithy/signature-v4. */
function expectedSignature(headers: Map<string, string>, signed: string[], amzDate: string, region: string): string {
  const canonical = ["POST", "/", "Action=GetCallerIdentity&Version=2011-06-15", ...signed.map((h) => `${h}:${headers.get(h)?.trim()}`), "", signed.join(";"), sha256("")].join("\n");
  const scope = `${amzDate.slice(0, 8)}/${region}/sts/aws4_request`;
  const toSign = ["AWS4-HMAC-SHA256", amzDate, scope, sha256(canonical)].join("\n");
  let key: Buffer = hmac(`AWS4${CREDENTIALS.secretAccessKey}`, amzDate.slice(0, 8));
  for (const part of [region, "sts", "aws4_request"]) key = hmac(key, part);
  return hmac(key, toSign).toString("hex");
}

describe("the AWS subject token for Google's workload identity federation", () => {
  it("is a URL-encoded, SigV4-signed GetCallerIdentity request to the region's STS, with the provider signed in", async () => {
    const token = await awsCallerIdentity({ region: "eu-west-1", credentials: CREDENTIALS, now: () => new Date("2026-12-02T10:00:00Z") })(PROVIDER);
    expect(token).not.toMatch(/[{}":]/);
    const request = JSON.parse(decodeURIComponent(token)) as { url: string; method: string; headers: { key: string; value: string }[] };
    expect(request.url).toBe("https://sts.eu-west-1.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15");
    expect(request.method).toBe("POST");
    const headers = new Map(request.headers.map((h) => [h.key.toLowerCase(), h.value]));
    expect(headers.get("host")).toBe("sts.eu-west-1.amazonaws.com");
    expect(headers.get("x-goog-cloud-target-resource")).toBe(PROVIDER);
    expect(headers.get("x-amz-date")).toBe("20261202T100000Z");
    expect(headers.get("x-amz-security-token")).toBe(CREDENTIALS.sessionToken);
    const auth = /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/20261202\/eu-west-1\/sts\/aws4_request, SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$/.exec(headers.get("authorization") ?? "");
    expect(auth).not.toBeNull();
    const signed = (auth?.[1] ?? "").split(";");
    expect(signed).toEqual(["host", "x-amz-date", "x-amz-security-token", "x-goog-cloud-target-resource"]);
    expect(auth?.[2]).toBe(expectedSignature(headers, signed, "20261202T100000Z", "eu-west-1"));
    // The secret key never travels: only what it signed.
    expect(decodeURIComponent(token)).not.toContain(CREDENTIALS.secretAccessKey);
  });

  it("takes its region from AWS_REGION, and says so when there is none", async () => {
    const saved = { region: process.env.AWS_REGION, fallback: process.env.AWS_DEFAULT_REGION };
    try {
      delete process.env.AWS_DEFAULT_REGION;
      process.env.AWS_REGION = "us-east-2";
      const request = JSON.parse(decodeURIComponent(await awsCallerIdentity({ credentials: CREDENTIALS })(PROVIDER))) as { url: string };
      expect(request.url).toMatch(/^https:\/\/sts\.us-east-2\.amazonaws\.com\//);
      delete process.env.AWS_REGION;
      await expect(awsCallerIdentity({ credentials: CREDENTIALS })(PROVIDER)).rejects.toThrow(/AWS_REGION is not set/);
    } finally {
      if (saved.region === undefined) delete process.env.AWS_REGION;
      else process.env.AWS_REGION = saved.region;
      if (saved.fallback !== undefined) process.env.AWS_DEFAULT_REGION = saved.fallback;
    }
  });
});
