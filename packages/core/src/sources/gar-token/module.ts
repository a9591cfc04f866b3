import * as z from "zod";
import { duration } from "../../config/config-fields.js";
import type { SourceModule } from "../../model/source-module.js";
import type { GarTokenSource } from "./source.js";

export type { GarTokenSource } from "./source.js";

/** Google's service account emails: <name>@<project>.iam.gserviceaccount.com, or the older default ones (<number>-compute@developer…). */
const SERVICE_ACCOUNT = /^[a-z0-9][a-z0-9-]{0,62}@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.gserviceaccount\.com$/;
/** A workload identity pool provider's full resource name, which is also STS's `audience`. */
const PROVIDER = /^\/\/iam\.googleapis\.com\/projects\/\d+\/locations\/global\/workloadIdentityPools\/[a-z0-9-]{4,32}\/providers\/[a-z0-9-]{4,32}$/;
const HOUR = 3600;
/** generateAccessToken's longest lifetime unless the organization policy constraints/iam.allowServiceAccountCredentialLifetimeExtension allows up to 12 h. */
const MAX_LIFETIME = HOUR;
const MIN_LIFETIME = 10 * 60;

const baseUrl = (example: string) => z.url({ protocol: /^https?$/, error: `expected the API's base URL, such as ${example}` });

const garTokenSchema = z
  .strictObject({
    type: z.literal("gar-token"),
    serviceAccount: z.string().regex(SERVICE_ACCOUNT, "expected a service account email, such as puller@my-project.iam.gserviceaccount.com"),
    workloadIdentityProvider: z
      .string()
      .regex(PROVIDER, "expected the provider's full name: //iam.googleapis.com/projects/<project number>/locations/global/workloadIdentityPools/<pool>/providers/<provider>"),
    lifetime: duration.default(MAX_LIFETIME),
    margin: duration.optional(),
    api: z
      .strictObject({
        sts: baseUrl("https://sts.googleapis.com").default("https://sts.googleapis.com"),
        iamCredentials: baseUrl("https://iamcredentials.googleapis.com").default("https://iamcredentials.googleapis.com"),
      })
      .default({ sts: "https://sts.googleapis.com", iamCredentials: "https://iamcredentials.googleapis.com" }),
  })
  .superRefine((s, ctx) => {
    if (s.lifetime > MAX_LIFETIME) ctx.addIssue({ code: "custom", path: ["lifetime"], message: "expected at most 1h: Google refuses longer service account tokens unless an organization policy allows them" });
    if (s.lifetime < MIN_LIFETIME) ctx.addIssue({ code: "custom", path: ["lifetime"], message: "expected at least 10m: a token must outlive its delivery and the next refresh check" });
    if (s.margin !== undefined && s.margin >= s.lifetime) ctx.addIssue({ code: "custom", path: ["margin"], message: `expected less than the lifetime (${s.lifetime} s), or every refresh would find the new token due` });
  });

/**
 * Google Artifact Registry tokens, minted by the refresh function through workload identity
 * federation from AWS: no Google key is stored anywhere. Each lives an hour at most, so it is
 * minted again before it expires rather than rotated; nothing revokes it.
 */
export const garTokenModule: SourceModule<typeof garTokenSchema> = {
  type: "gar-token",
  schema: garTokenSchema,
  capabilities: { mints: true, rotates: false, managedElsewhere: false, expires: true },
  load: () => import("./runtime.js"),
  toSource: (s): GarTokenSource => ({
    type: s.type,
    serviceAccount: s.serviceAccount,
    workloadIdentityProvider: s.workloadIdentityProvider,
    lifetime: s.lifetime,
    ...(s.margin !== undefined && { marginSeconds: s.margin }),
    api: { sts: s.api.sts, iamCredentials: s.api.iamCredentials },
  }),
  checkRegistry({ kind, source }, issue) {
    // Artifact Registry hosts (<region>-docker.pkg.dev) take a plain Basic login under their host: kind generic.
    if (kind !== "generic") issue(["source", "type"], `"${source.type}" mints Google access tokens for kind "generic" (<region>-docker.pkg.dev), not "${kind}"`);
  },
  awsPermissions: {
    /**
     * None: the function signs an STS GetCallerIdentity request with its own role and Google sends
     * it; GetCallerIdentity needs no IAM permission (an explicit deny cannot block it either).
     * What grants access is on Google's side: the pool's provider trusts the account, and the role's
     * principal has roles/iam.workloadIdentityUser on the service account.
     */
    refresh: () => [],
  },
};
