import * as z from "zod";
import { awsRegionSchema } from "../shared/common.js";

/** A Secrets Manager secret name (the characters Secrets Manager allows). */
export const SECRET_NAME = /^[A-Za-z0-9/_+=.@-]{1,512}$/;
/** A secret's full ARN: partition, region, account and name (with the "-" and six random characters). */
export const SECRET_ARN = /^arn:(aws[a-z-]*):secretsmanager:([a-z0-9-]+):(\d{12}):secret:([A-Za-z0-9/_+=.@-]+)$/;
export const ROLE_ARN = /^arn:aws[a-z-]*:iam::(\d{12}):role\/[A-Za-z0-9+=,.@_/-]{1,512}$/;

/** The parts of a secret ARN, if `secretId` is one. */
export function secretArnParts(secretId: string): { partition: string; region: string; account: string; name: string } | undefined {
  const m = SECRET_ARN.exec(secretId);
  if (!m) return undefined;
  const [, partition, region, account, resource] = m as unknown as [string, string, string, string, string];
  return { partition, region, account, name: resource.replace(/-[A-Za-z0-9]{6}$/, "") };
}

/** What of pullkeeper's credential can be written to the destination: the fields and their derived forms. */
export const CREDENTIAL_FIELDS = ["username", "password", "auth", "registry"] as const;
export type CredentialField = (typeof CREDENTIAL_FIELDS)[number];

const jsonKey = z.string().min(1).max(256);

/** field → the destination's JSON key; at least the password (or `auth`, which holds it), no key written twice. */
export const keyMappingSchema = z
  .strictObject({ username: jsonKey.optional(), password: jsonKey.optional(), auth: jsonKey.optional(), registry: jsonKey.optional() })
  .superRefine((keys, ctx) => {
    if (keys.password === undefined && keys.auth === undefined) ctx.addIssue({ code: "custom", message: "map `password` or `auth`: a copy without the credential's secret part is no copy" });
    const seen = new Map<string, string>();
    for (const [field, key] of Object.entries(keys)) {
      if (key === undefined) continue;
      const other = seen.get(key);
      if (other !== undefined) ctx.addIssue({ code: "custom", path: [field], message: `${field} and ${other} both write the key "${key}"` });
      seen.set(key, field);
    }
  });
export type KeyMapping = z.output<typeof keyMappingSchema>;

export const DEFAULT_KEYS: KeyMapping = { username: "username", password: "password" };

export const secretIdSchema = z.string().refine((s) => SECRET_NAME.test(s) || SECRET_ARN.test(s), "expected a Secrets Manager secret name or full ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>-<6 characters>)");

/** The checks every secret-copying target shares: the ARN agrees with `region`, and only a name can be created. */
export function checkDestination(t: { secretId: string; region?: string | undefined; createIfMissing: boolean }, ctx: z.RefinementCtx): void {
  const arn = secretArnParts(t.secretId);
  if (arn !== undefined && t.region !== undefined && arn.region !== t.region) {
    ctx.addIssue({ code: "custom", path: ["region"], message: `the secret ARN names region ${arn.region}, but region says ${t.region}` });
  }
  if (arn !== undefined && t.createIfMissing) {
    ctx.addIssue({ code: "custom", path: ["createIfMissing"], message: "a secret can be created only by name: its ARN ends in six characters Secrets Manager picks at creation" });
  }
}

/**
 * A consumer of kind `secrets-manager-copy`: another Secrets Manager secret (another name, region
 * or account) kept holding the registry's credential as JSON, under the keys `keys` maps to.
 */
export const secretsManagerCopyTargetSchema = z
  .strictObject({
    kind: z.literal("secrets-manager-copy"),
    /** The destination secret's name (in `region` of the deploy account, or of roleArn's account) or full ARN. */
    secretId: secretIdSchema,
    /** Where it lives; default the region of its ARN, else of the registry's secret. */
    region: awsRegionSchema.optional(),
    /** A role to assume for the writes (another account); it needs the Secrets Manager permissions on the secret. */
    roleArn: z.string().regex(ROLE_ARN, "expected an IAM role ARN (arn:aws:iam::<account>:role/<name>)").optional(),
    /** Credential field → the destination's JSON key. */
    keys: keyMappingSchema.default(DEFAULT_KEYS),
    /** Create the secret (by name) when it does not exist; default false: a missing secret is a failed delivery. */
    createIfMissing: z.boolean().default(false),
  })
  .superRefine(checkDestination);

export type SecretsManagerCopyTargetConfig = z.output<typeof secretsManagerCopyTargetSchema>;
