import { modelSource } from "../../source-modules.js";
import { describe, expect, it } from "vitest";
import { garTokenModule } from "./module.js";
import { configProbe } from "../shared/config-probe.js";

const PROVIDER = "//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/aws-pool/providers/aws-prod";
const { parse, messages } = configProbe(garTokenModule, { serviceAccount: "puller@acme-prod.iam.gserviceaccount.com", workloadIdentityProvider: PROVIDER });

describe("the gar-token source's config", () => {
  it("defaults to one-hour tokens from Google's public STS and IAM Credentials, minted (not rotated), with no AWS permission", () => {
    const result = parse({});
    expect(result.success && modelSource(result.data)).toEqual({
      type: "gar-token",
      serviceAccount: "puller@acme-prod.iam.gserviceaccount.com",
      workloadIdentityProvider: PROVIDER,
      lifetime: 3600,
      api: { sts: "https://sts.googleapis.com", iamCredentials: "https://iamcredentials.googleapis.com" },
    });
    expect(garTokenModule.capabilities).toEqual({ mints: true, rotates: false, managedElsewhere: false, expires: true });
    expect(garTokenModule.awsPermissions?.refresh?.([], { secretArn: (s) => s })).toEqual([]);
  });

  it("carries a margin as marginSeconds, as the refresh reads it, and refuses one as long as the token", () => {
    const result = parse({ lifetime: "45m", margin: "20m" });
    expect(result.success && modelSource(result.data)).toMatchObject({ lifetime: 2700, marginSeconds: 1200 });
    expect(messages({ lifetime: "30m", margin: "30m" })).toEqual([expect.stringMatching(/^margin: expected less than the lifetime/)]);
  });

  it("refuses a lifetime over Google's one hour, or too short to deliver", () => {
    expect(messages({ lifetime: "2h" })).toEqual([expect.stringMatching(/^lifetime: expected at most 1h/)]);
    expect(messages({ lifetime: "5m" })).toEqual([expect.stringMatching(/^lifetime: expected at least 10m/)]);
  });

  it("refuses a provider that is not a full workload identity provider name, and a malformed service account", () => {
    expect(messages({ workloadIdentityProvider: "projects/123/locations/global/workloadIdentityPools/aws-pool/providers/aws-prod" })).toEqual([expect.stringMatching(/^workloadIdentityProvider: expected the provider's full name/)]);
    expect(messages({ workloadIdentityProvider: "//iam.googleapis.com/projects/acme-prod/locations/global/workloadIdentityPools/aws-pool/providers/aws-prod" })).toHaveLength(1);
    expect(messages({ serviceAccount: "puller@gmail.com" })).toEqual([expect.stringMatching(/^serviceAccount: /)]);
    expect(messages({ serviceAccount: "123456789012-compute@developer.gserviceaccount.com" })).toEqual([]);
  });

  it("takes http(s) base URLs for each API, and no other key under api", () => {
    expect(messages({ api: { sts: "file:///etc/passwd" } })).toEqual([expect.stringMatching(/^api\.sts: /)]);
    expect(messages({ api: { token: "https://example.com" } })).toEqual([expect.stringMatching(/^api: /)]);
    const result = parse({ api: { sts: "http://127.0.0.1:9000" } });
    expect(result.success && result.data.api).toEqual({ sts: "http://127.0.0.1:9000", iamCredentials: "https://iamcredentials.googleapis.com" });
  });

  it("is for registries of kind generic", () => {
    const issues: string[] = [];
    const source = parse({});
    if (!source.success) throw new Error("parse failed");
    garTokenModule.checkRegistry?.({ kind: "generic", host: "europe-west1-docker.pkg.dev", source: source.data }, (p, m) => issues.push(`${p.join(".")}: ${m}`));
    expect(issues).toEqual([]);
    garTokenModule.checkRegistry?.({ kind: "dockerhub", host: "europe-west1-docker.pkg.dev", source: source.data }, (p, m) => issues.push(`${p.join(".")}: ${m}`));
    expect(issues).toEqual([expect.stringMatching(/^source\.type: .*kind "generic"/)]);
  });
});
