import * as z from "zod";

function isLoopback(hostname: string): boolean {
  return hostname === "localhost" || hostname === "[::1]" || /^127(?:\.\d{1,3}){3}$/.test(hostname);
}

// No `URL` annotation: the stacks compile this schema against SST's Node.js types, whose URL differs from the repo's.
function parsedUrl(value: string) {
  try {
    return new URL(value);
  } catch {
    return undefined;
  }
}

function urlProblem(value: string): string | undefined {
  const url = parsedUrl(value);
  if (url === undefined) return "expected an absolute URL";
  if (url.username !== "" || url.password !== "") return "must not carry credentials (user:password@); the signature authenticates the sender";
  if (url.protocol === "https:") return undefined;
  if (url.protocol === "http:") return isLoopback(url.hostname) ? undefined : "http is allowed only for localhost / 127.0.0.1 / [::1]; use https";
  return "expected an https URL";
}

/**
 * A consumer of kind `webhook`: a signed JSON notice that the registry's credential changed.
 * It carries IDs only (secret ARN, VersionId), never the value.
 */
export const webhookTargetSchema = z.strictObject({
  kind: z.literal("webhook"),
  /** Where to POST; https, or http on loopback only. */
  url: z.string().superRefine((value, ctx) => {
    const problem = urlProblem(value);
    if (problem !== undefined) ctx.addIssue({ code: "custom", message: problem });
  }),
  /** Id of the secret whose password field is the HMAC signing key. */
  signingSecret: z.string().min(1, "must not be empty"),
  /** Budget for the whole request. Default 10000. */
  timeoutMs: z.number().int().min(100).max(120_000).optional(),
});

export type WebhookTargetConfig = z.output<typeof webhookTargetSchema>;
