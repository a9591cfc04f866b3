import { modelSource } from "../../source-modules.js";
import { describe, expect, it } from "vitest";
import { principalOf } from "./api.js";
import { acrTokenModule } from "./module.js";
import { slotByTime } from "./runtime.js";
import { configProbe } from "../shared/config-probe.js";

const SUBSCRIPTION = "00000000-1111-4222-8333-444444444444";
const base = { type: "acr-token", admin: "pullkeeper/acr-admin", subscription: SUBSCRIPTION, resourceGroup: "registries-rg", registry: "acmeregistry", token: "pullkeeper-pull" };
const { parse, messages } = configProbe(acrTokenModule, base);

describe("the acr-token source's config", () => {
  it("defaults to 30-day passwords rotated weekly, against Azure's public cloud", () => {
    const result = parse({});
    expect(result.success && modelSource(result.data)).toEqual({
      ...base,
      lifetime: 30 * 86_400,
      rotation: "rate(7 days)",
      api: "https://management.azure.com",
      login: "https://login.microsoftonline.com",
    });
  });

  it("refuses a lifetime that would not outlive the next rotation and its overlap", () => {
    expect(messages({ lifetime: "10d" })).toEqual(["lifetime: expected at least twice the rotation interval (rate(7 days)), so a credential is replaced by half its life and outlives the overlap before its revocation"]);
    expect(messages({ lifetime: "12h", rotation: "rate(1 hour)" })).toEqual(["lifetime: expected at least 1d: a credential must outlive its delivery and its overlap"]);
  });

  it("takes ARM's names as its description constrains them", () => {
    expect(messages({ subscription: "acme" })).toEqual([expect.stringMatching(/^subscription: expected the Azure subscription id/)]);
    expect(messages({ registry: "acme-registry" })).toEqual([expect.stringMatching(/^registry: /)]);
    expect(messages({ registry: "acme" })).toEqual([expect.stringMatching(/^registry: /)]);
    expect(messages({ token: "pull" })).toEqual([expect.stringMatching(/^token: /)]);
    expect(messages({ token: "pull_token" })).toEqual([expect.stringMatching(/^token: /)]);
    expect(messages({ resourceGroup: "rg." })).toEqual([expect.stringMatching(/^resourceGroup: .*'\.'/)]);
    expect(messages({ resourceGroup: "my rg" })).toEqual([expect.stringMatching(/^resourceGroup: /)]);
    expect(messages({ resourceGroup: "Prod_(west).1" })).toEqual([]);
  });

  it("requires the ids it cannot default, and takes http(s) base URLs only", () => {
    expect(acrTokenModule.schema.safeParse({ type: "acr-token", admin: "a" }).error?.issues.map((i) => i.path.join("."))).toEqual(["subscription", "resourceGroup", "registry", "token"]);
    expect(messages({ api: "file:///etc/passwd" })).toEqual([expect.stringMatching(/^api: /)]);
    expect(messages({ login: "ftp://login" })).toEqual([expect.stringMatching(/^login: /)]);
  });

  it("grants the rotation reading the service principal's secret only", () => {
    const parsed = parse({});
    const registry = { source: parsed.success ? modelSource(parsed.data) : undefined } as never;
    expect(acrTokenModule.awsPermissions?.rotation?.([registry], { secretArn: (s) => `arn:${s}` })).toEqual([{ actions: ["secretsmanager:GetSecretValue"], resources: ["arn:pullkeeper/acr-admin"] }]);
  });
});

describe("the acr-token runtime's reading of its admin and its slots", () => {
  it("reads the admin username as <tenant>/<client id>", () => {
    expect(principalOf("contoso.onmicrosoft.com/9a1b2c3d-0000-4000-8000-00000000a11e")).toEqual({ tenant: "contoso.onmicrosoft.com", clientId: "9a1b2c3d-0000-4000-8000-00000000a11e" });
    expect(principalOf("9a1b2c3d-0000-4000-8000-00000000a11e")).toBeUndefined();
  });

  it("puts a stored password in the slot created nearest the version's write", () => {
    const at = (ms: number) => ({ createdAt: new Date(ms) });
    const day = 86_400_000;
    const passwords = [
      { name: "password1" as const, creationTime: 10 * day },
      { name: "password2" as const, creationTime: 17 * day },
    ];
    expect(slotByTime(passwords, at(10 * day + 300))).toBe("password1");
    // Azure's clock a little ahead of the vault's: still the nearest.
    expect(slotByTime(passwords, at(17 * day - 2_000))).toBe("password2");
    expect(slotByTime([passwords[1] as (typeof passwords)[number]], at(10 * day))).toBe("password2");
    expect(slotByTime([], at(0))).toBeUndefined();
  });
});
