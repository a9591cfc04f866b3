/**
 * Key names whose string values are credentials wherever they turn up: our own objects,
 * SDK responses (SecretString, authorizationToken), HTTP headers (authorization).
 * `secretArn`, `secretId` and `secretName` are identifiers and stay readable.
 */
const SENSITIVE_KEY = /pass(word|wd)?$|^secret(string|binary|value|accesskey)?$|secretaccesskey|token$|^authorization$|^credentials?$|^auth$|^value$|plaintext/i;

export const REDACTED = "[REDACTED]";

/**
 * A JSON replacer for the Powertools logger: the last line of defence when someone logs an
 * object that holds a credential. SecretValue already prints as [REDACTED]; this catches
 * plain strings under credential-shaped keys.
 */
export function redactCredentials(key: string, value: unknown): unknown {
  if (key !== "" && SENSITIVE_KEY.test(key) && (typeof value === "string" || typeof value === "object") && value !== null) return REDACTED;
  return value;
}
