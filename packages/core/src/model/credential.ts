import { InvalidCredentialError } from "./errors.js";
import { SecretValue } from "./secret-value.js";

/** A registry login. The password is wrapped so it cannot be logged by accident. */
export interface Credential {
  readonly username: string;
  readonly password: SecretValue;
}

export function credential(username: string, password: string): Credential {
  return { username, password: new SecretValue(password) };
}

export function sameCredential(a: Credential, b: Credential): boolean {
  return a.username === b.username && a.password.equals(b.password);
}

/** The JSON document a Secrets Manager secret holds, as CodeBuild and ECS read it. */
export function serializeCredential(c: Credential): string {
  return JSON.stringify({ username: c.username, password: c.password.reveal() });
}

/**
 * Parses a secret's string. The errors say what is wrong without quoting the input:
 * JSON.parse's own message includes a slice of the text, which may be the password.
 */
export function parseCredential(secretId: string, text: string | undefined): Credential {
  if (text === undefined || text === "") {
    throw new InvalidCredentialError(secretId, "has no string value");
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new InvalidCredentialError(secretId, "does not hold valid JSON (expected {\"username\",\"password\"})");
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) {
    throw new InvalidCredentialError(secretId, "holds JSON that is not an object (expected {\"username\",\"password\"})");
  }
  const { username, password } = doc as Record<string, unknown>;
  const missing = [
    typeof username === "string" && username !== "" ? undefined : "username",
    typeof password === "string" && password !== "" ? undefined : "password",
  ].filter((f): f is string => f !== undefined);
  if (missing.length > 0) {
    throw new InvalidCredentialError(secretId, `lacks a non-empty string ${missing.join(" and ")}`);
  }
  // Basic auth, a docker `auth` string and Gitpod's `user:password` split at the first colon
  // (RFC 7617 forbids one in the user-id), so such a username would reach consumers as another one.
  if ((username as string).includes(":")) {
    throw new InvalidCredentialError(secretId, "has a username with a colon (a registry login splits user:password at the first one)");
  }
  return credential(username as string, password as string);
}

/** ECR's `authorizationToken` is base64("AWS:<password>"). */
export function decodeBasicToken(token: string): Credential {
  const decoded = Buffer.from(token, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon <= 0 || colon === decoded.length - 1) {
    throw new InvalidCredentialError("(authorization token)", "is not base64 of user:password");
  }
  return credential(decoded.slice(0, colon), decoded.slice(colon + 1));
}
