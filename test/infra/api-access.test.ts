import { describe, expect, it } from "vitest";
import { parseConfig } from "../../packages/core/src/config/config.js";
import type { InvalidInputError } from "../../packages/core/src/model/errors.js";
import { accountRoot, API_ROUTES, API_STAGE, apiPrincipals, invokeResources, READ_ROUTES } from "../../stacks/api-access.js";
import { allowsInvoke, requestArn } from "./execute-api";

const EXECUTION_ARN = "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5";

const BASE = "registries:\n  - { id: hub, host: registry-1.docker.io, kind: dockerhub, source: { type: managed-secret }, secret: pullkeeper/hub }\n";
const withApi = (api: string) => parseConfig(`${BASE}settings:\n  api: ${api}\n`, "pullkeeper.yaml");

function issuesOf(text: string): readonly string[] {
  try {
    parseConfig(text, "pullkeeper.yaml");
  } catch (error) {
    return (error as InvalidInputError).issues;
  }
  throw new Error("expected the config to be refused");
}

describe("apiPrincipals (settings.api in pullkeeper.yaml)", () => {
  it("left out: the deploy account decides (undefined)", () => {
    expect(apiPrincipals(parseConfig(BASE), {})).toEqual({ reader: undefined, operator: undefined });
    expect(apiPrincipals(withApi("{ readers: [arn:aws:iam::123456789012:role/oncall] }"), {})).toEqual({ reader: ["arn:aws:iam::123456789012:role/oncall"], operator: undefined });
    expect(accountRoot("aws", "123456789012")).toBe("arn:aws:iam::123456789012:root");
  });

  it("roots, users and roles (paths too, any account), each once", () => {
    const config = withApi(
      "{ readers: [arn:aws:iam::123456789012:role/oncall, arn:aws:iam::210987654321:root, arn:aws:iam::123456789012:role/oncall], operators: [arn:aws-us-gov:iam::123456789012:user/ops/alice, arn:aws:iam::123456789012:role/teams/platform/operator] }",
    );
    expect(apiPrincipals(config, {})).toEqual({
      reader: ["arn:aws:iam::123456789012:role/oncall", "arn:aws:iam::210987654321:root"],
      operator: ["arn:aws-us-gov:iam::123456789012:user/ops/alice", "arn:aws:iam::123456789012:role/teams/platform/operator"],
    });
  });

  it("anything else fails the config with every problem, at its line and column", () => {
    const issues = issuesOf(`${BASE}settings:\n  api:\n    readers: [alice, "arn:aws:iam::123456789012:role/oncall", "123456789012"]\n    operators: ["*"]\n    writers: []\n`);
    expect(issues).toEqual([
      'pullkeeper.yaml:5:15 settings.api.readers[0]: "alice" is not an IAM principal ARN (expected arn:<partition>:iam::<account>:root, :user/<name> or :role/<name>)',
      'pullkeeper.yaml:5:63 settings.api.readers[2]: "123456789012" is an account ID; write its root as arn:aws:iam::123456789012:root',
      'pullkeeper.yaml:6:17 settings.api.operators[0]: "*" is not an IAM principal ARN (expected arn:<partition>:iam::<account>:root, :user/<name> or :role/<name>)',
      'pullkeeper.yaml:7:5 settings.api.writers: unknown key "writers"',
    ]);
    expect(issuesOf(`${BASE}settings:\n  api: { readers: [] }\n`)).toEqual([expect.stringMatching(/^pullkeeper\.yaml:4:19 settings\.api\.readers: expected at least one principal ARN/)]);
    expect(issuesOf(`${BASE}settings:\n  api: { reader: [arn:aws:iam::123456789012:root] }\n`)).toEqual(['pullkeeper.yaml:4:10 settings.api.reader: unknown key "reader" (did you mean "readers"?)']);
    for (const bad of ["arn:aws:iam::123456789012:role/*", "arn:aws:sts::123456789012:assumed-role/oncall/alice", "arn:aws:iam::12345:root", "arn:aws:iam::123456789012:group/ops"]) {
      expect(issuesOf(`${BASE}settings:\n  api: { operators: ["${bad}"] }\n`), bad).toEqual([expect.stringContaining(`settings.api.operators[0]: "${bad}" is not an IAM principal ARN`)]);
    }
  });

  it("PULLKEEPER_AUDIT_READERS / _OPERATORS set (the old way) fail the deploy, showing what to write in the file instead", () => {
    const config = withApi("{ readers: [arn:aws:iam::123456789012:role/oncall] }");
    expect(() => apiPrincipals(config, { PULLKEEPER_AUDIT_READERS: " arn:aws:iam::123456789012:role/oncall , arn:aws:iam::210987654321:root" }, "deploy.yaml")).toThrow(
      "PULLKEEPER_AUDIT_READERS is no longer read: who may call the audit API is set in deploy.yaml, versioned with the rest, so a redeploy cannot drop it. Write this in deploy.yaml, then unset the variable:\n  settings:\n    api:\n      readers: [arn:aws:iam::123456789012:role/oncall, arn:aws:iam::210987654321:root]",
    );
    expect(() => apiPrincipals(config, { PULLKEEPER_AUDIT_READERS: "a", PULLKEEPER_AUDIT_OPERATORS: "b" })).toThrow(/^PULLKEEPER_AUDIT_READERS and PULLKEEPER_AUDIT_OPERATORS are no longer read: .*\n {6}readers: \[a\]\n {6}operators: \[b\]$/s);
    // Set but blank: as good as unset.
    expect(apiPrincipals(config, { PULLKEEPER_AUDIT_READERS: "  ", PULLKEEPER_AUDIT_OPERATORS: "" })).toEqual({ reader: ["arn:aws:iam::123456789012:role/oncall"], operator: undefined });
  });
});

describe("invokeResources", () => {
  it("one resource per method of the role, on the API's stage", () => {
    expect(invokeResources(EXECUTION_ARN, "reader")).toEqual([`${EXECUTION_ARN}/$default/GET/*`]);
    expect(invokeResources(EXECUTION_ARN, "operator")).toEqual([`${EXECUTION_ARN}/$default/GET/*`, `${EXECUTION_ARN}/$default/POST/*`]);
    expect(API_STAGE).toBe("$default");
  });

  it("the reader may call every read route and no action; the operator every route", () => {
    const reader = [{ actions: ["execute-api:Invoke"], resources: invokeResources(EXECUTION_ARN, "reader") }];
    const operator = [{ actions: ["execute-api:Invoke"], resources: invokeResources(EXECUTION_ARN, "operator") }];
    for (const route of API_ROUTES) {
      const arn = requestArn(EXECUTION_ARN, API_STAGE, route);
      expect(allowsInvoke(operator, arn), route).toBe(true);
      expect(allowsInvoke(reader, arn), route).toBe((READ_ROUTES as readonly string[]).includes(route));
    }
    expect(allowsInvoke(reader, `${EXECUTION_ARN}/$default/POST/v1/registries/hub/refresh`)).toBe(false);
    expect(allowsInvoke(reader, `${EXECUTION_ARN}/$default/GET/`)).toBe(true);
    // Another API or stage: neither.
    expect(allowsInvoke(operator, "arn:aws:execute-api:eu-west-1:123456789012:zzzzzzzzzz/$default/GET/")).toBe(false);
    expect(allowsInvoke(operator, `${EXECUTION_ARN}/prod/GET/`)).toBe(false);
  });
});
