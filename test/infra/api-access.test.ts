import { describe, expect, it } from "vitest";
import { accountRoot, API_ROUTES, API_STAGE, apiPrincipals, invokeResources, READ_ROUTES } from "../../stacks/api-access.js";
import { allowsInvoke, requestArn } from "./execute-api";

const EXECUTION_ARN = "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3d4e5";

describe("apiPrincipals (PULLKEEPER_AUDIT_READERS / PULLKEEPER_AUDIT_OPERATORS)", () => {
  it("unset or blank: the deploy account decides (undefined)", () => {
    expect(apiPrincipals({})).toEqual({ reader: undefined, operator: undefined });
    expect(apiPrincipals({ PULLKEEPER_AUDIT_READERS: "  ", PULLKEEPER_AUDIT_OPERATORS: "" })).toEqual({ reader: undefined, operator: undefined });
    expect(accountRoot("aws", "123456789012")).toBe("arn:aws:iam::123456789012:root");
  });

  it("comma-separated roots, users and roles (paths too, any account), trimmed, each once", () => {
    expect(
      apiPrincipals({
        PULLKEEPER_AUDIT_READERS: " arn:aws:iam::123456789012:role/oncall , arn:aws:iam::210987654321:root,arn:aws:iam::123456789012:role/oncall",
        PULLKEEPER_AUDIT_OPERATORS: "arn:aws-us-gov:iam::123456789012:user/ops/alice,arn:aws:iam::123456789012:role/teams/platform/operator",
      }),
    ).toEqual({
      reader: ["arn:aws:iam::123456789012:role/oncall", "arn:aws:iam::210987654321:root"],
      operator: ["arn:aws-us-gov:iam::123456789012:user/ops/alice", "arn:aws:iam::123456789012:role/teams/platform/operator"],
    });
  });

  it("anything else fails with every problem, naming the variable and the entry", () => {
    const error = (() => {
      try {
        apiPrincipals({ PULLKEEPER_AUDIT_READERS: "alice,arn:aws:iam::123456789012:role/oncall,,123456789012", PULLKEEPER_AUDIT_OPERATORS: "*" });
      } catch (e) {
        return e as Error;
      }
      throw new Error("expected apiPrincipals to throw");
    })();
    expect(error.message).toMatch(/^the audit API's principals are not valid/);
    expect(error.message).toContain('\n  PULLKEEPER_AUDIT_READERS: "alice" is not an IAM principal ARN (expected arn:<partition>:iam::<account>:root, :user/<name> or :role/<name>)');
    expect(error.message).toContain("\n  PULLKEEPER_AUDIT_READERS: entry 3 is empty (a stray comma?)");
    expect(error.message).toContain('\n  PULLKEEPER_AUDIT_READERS: "123456789012" is an account ID; write its root as arn:aws:iam::123456789012:root');
    expect(error.message).toContain('\n  PULLKEEPER_AUDIT_OPERATORS: "*" is not an IAM principal ARN');
    for (const bad of ["arn:aws:iam::123456789012:role/*", "arn:aws:sts::123456789012:assumed-role/oncall/alice", "arn:aws:iam::12345:root", "arn:aws:iam::123456789012:group/ops"]) {
      expect(() => apiPrincipals({ PULLKEEPER_AUDIT_OPERATORS: bad }), bad).toThrow(`PULLKEEPER_AUDIT_OPERATORS: "${bad}" is not an IAM principal ARN`);
    }
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
