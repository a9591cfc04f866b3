import { describe, expect, it } from "vitest";
import { z } from "zod";
import { checkConfigFile, parseConfig } from "./config.js";
import { ConfigError } from "./config-issues.js";
import type { DeliveryTarget } from "../propagation/delivery.js";
import { awsRegion, awsRegionIssue, didYouMean, KNOWN_AWS_REGIONS } from "./suggest.js";

/** Two consumer kinds, as the delivery targets register them (core has none of its own). */
const targets = new Map<string, Pick<DeliveryTarget, "schema">>([
  ["docker-config", { schema: z.strictObject({ kind: z.literal("docker-config"), path: z.string(), region: awsRegion.optional() }) as unknown as DeliveryTarget["schema"] }],
  ["webhook", { schema: z.strictObject({ kind: z.literal("webhook"), url: z.url() }) as unknown as DeliveryTarget["schema"] }],
]);

const REGISTRY = `registries:
  - id: hub
    host: registry-1.docker.io
    kind: dockerhub
    source: { type: managed-secret }
    secret: pullkeeper/hub
`;

function refusal(text: string): ConfigError {
  try {
    checkConfigFile(text, "pk.yaml", targets);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error("expected the config to be refused");
}

describe("checkConfigFile", () => {
  it("returns the config and every consumer with its target as its kind parsed it", () => {
    const { config, consumers } = checkConfigFile(`${REGISTRY}consumers:\n  - { id: me, registry: hub, restart: true, target: { kind: docker-config, path: /tmp/c.json } }\n`, "pk.yaml", targets);
    expect(config.registries.map((r) => r.id)).toEqual(["hub"]);
    expect(consumers).toEqual([{ id: "me", registryId: "hub", target: { kind: "docker-config", path: "/tmp/c.json" }, restart: true }]);
  });

  it("points at an unknown key itself, a missing key's map, and a bad value, in the file's order", () => {
    const error = refusal(`${REGISTRY}consumers:
  - id: me
    registry: hub
    target:
      kind: webhook
  - id: you
    registry: hub
    target:
      kind: docker-config
      pth: /tmp/c.json
      colour: blue
`);
    expect(error.issues).toEqual([
      // The target map that lacks it (a block map starts at its first key).
      'pk.yaml:11:7 consumers[0].target.url: missing key "url" (expected string)',
      // `pth` suggests `path`: the missing `path` is the same mistake, not reported apart.
      'pk.yaml:16:7 consumers[1].target.pth: unknown key "pth" (did you mean "path"?)',
      'pk.yaml:17:7 consumers[1].target.colour: unknown key "colour"',
    ]);
    expect(error.located[1]).toEqual({ path: ["consumers", 1, "target", "pth"], message: 'unknown key "pth" (did you mean "path"?)', line: 16, column: 7 });
    expect(error.message).toBe(`pk.yaml is not valid:\n  ${error.issues.join("\n  ")}`);
  });

  it("refuses unknown consumer keys, but keeps restart", () => {
    expect(refusal(`${REGISTRY}consumers:\n  - { id: me, registry: hub, restrat: true, target: { kind: webhook, url: "https://example.com/hook" } }\n`).issues).toEqual([
      'pk.yaml:8:30 consumers[0].restrat: unknown key "restrat" (did you mean "restart"?)',
    ]);
  });

  it("suggests the nearest value of an enum, a source type, a consumer kind and a registry id", () => {
    const error = refusal(`registries:
  - id: hub
    host: registry-1.docker.io
    kind: dokerhub
    source: { type: manged-secret }
    secret: pullkeeper/hub
consumers:
  - { id: me, registry: hubb, target: { kind: docker-confg, path: /tmp/c.json } }
  - { id: me, registry: hub, target: { kind: webhook, url: "https://example.com/hook" } }
`);
    expect(error.issues).toEqual([
      expect.stringMatching(/^pk\.yaml:4:11 registries\[0\]\.kind: Invalid option: expected one of .* \(did you mean "dockerhub"\?\)$/),
      'pk.yaml:5:21 registries[0].source.type: expected source.type to be one of "ecr-token", "gar-token", "managed-secret", "htpasswd", "dockerhub-token", "gitlab-token", "jfrog-token", "harbor-robot", "quay-robot", "acr-token" (did you mean "managed-secret"?)',
      'pk.yaml:8:25 consumers[0].registry: no registry with id "hubb" (did you mean "hub"?)',
      'pk.yaml:8:47 consumers[0].target.kind: unknown kind "docker-confg" (did you mean "docker-config"?) (known: docker-config, webhook)',
      'pk.yaml:9:11 consumers[1].id: duplicate id "me" (first at consumers[0])',
    ]);
  });

  it("follows YAML aliases to the anchored node", () => {
    const error = refusal(`registries:
  - id: a
    host: a.example.com
    kind: generic
    source: &src { type: managed-secret, extra: 1 }
    secret: a
  - id: b
    host: b.example.com
    kind: generic
    source: *src
    secret: b
`);
    expect(error.issues).toEqual(['pk.yaml:5:42 registries[0].source.extra: unknown key "extra"', 'pk.yaml:5:42 registries[1].source.extra: unknown key "extra"']);
  });

  it("parseConfig (no targets) runs the same document check, with lines", () => {
    expect(() => parseConfig(`${REGISTRY}settings: { refreshSchedul: rate(1 hour) }\n`, "pk.yaml")).toThrow('pk.yaml:7:13 settings.refreshSchedul: unknown key "refreshSchedul" (did you mean "refreshSchedule"?)');
  });
});

describe("AWS regions", () => {
  it("are the AWS SDK's, in every partition", () => {
    for (const region of ["eu-west-1", "us-east-1", "ap-southeast-2", "cn-north-1", "us-gov-west-1", "eusc-de-east-1"]) expect(awsRegionIssue(region), region).toBeUndefined();
    // Pseudo-regions of the endpoint rules are not regions.
    expect(KNOWN_AWS_REGIONS.has("aws-global")).toBe(false);
  });

  it("refuses a name that only looks like one, with the nearest known region", () => {
    expect(awsRegionIssue("eu-westt-1")).toMatch(/^unknown AWS region "eu-westt-1" \(did you mean "eu-west-1"\?\): not a region of AWS SDK [\d.]+ \(a region opened since needs a newer SDK/);
    expect(awsRegionIssue("eu-west-9")).toMatch(/^unknown AWS region "eu-west-9" \(did you mean "eu-west-\d"\?\)/);
    expect(awsRegionIssue("moon")).toBe('expected an AWS region such as eu-west-1, got "moon"');
    expect(awsRegionIssue("Europe (Ireland)")).toMatch(/^expected an AWS region such as eu-west-1/);
    expect(refusal(REGISTRY.replace("kind: dockerhub\n    source: { type: managed-secret }", "kind: dockerhub\n    source: { type: managed-secret }")
      .concat("consumers:\n  - { id: me, registry: hub, target: { kind: docker-config, path: /tmp/c.json, region: us-eest-1 } }\n")).issues).toEqual([
      expect.stringMatching(/^pk\.yaml:8:88 consumers\[0\]\.target\.region: unknown AWS region "us-eest-1" \(did you mean "us-east-1"\?\)/),
    ]);
  });
});

describe("didYouMean", () => {
  it("names a close known word, and none for a far or short one", () => {
    expect(didYouMean("ghrc", ["ghcr", "gitlab"])).toBe(' (did you mean "ghcr"?)');
    expect(didYouMean("id", ["kind", "path"])).toBe("");
    expect(didYouMean("colour", ["path", "kind"])).toBe("");
    expect(didYouMean("x", [])).toBe("");
  });
});
