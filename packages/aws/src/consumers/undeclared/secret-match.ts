import type { TrackedSecret } from "@pullkeeper/core";
import { type AwsLocation, parseArn } from "../shared/secret.js";

/** Secrets Manager ends every full ARN with "-" and six random characters. */
const RANDOM_SUFFIX = /-[A-Za-z0-9]{6}$/;

/**
 * A secret reference placed in the world: where it resolves and what follows "secret:" in its
 * ARN (or the bare name). `fromArn` says whether that text may carry the random suffix.
 * An undefined region or account resolves anywhere (a tracked name when the deployment's region
 * is unknown).
 */
interface Placed {
  readonly region: string | undefined;
  readonly account: string | undefined;
  readonly resource: string;
  readonly fromArn: boolean;
}

function place(reference: string, home: { readonly region: string | undefined; readonly account: string | undefined }): Placed | undefined {
  const trimmed = reference.trim();
  if (trimmed === "") return undefined;
  const arn = parseArn(trimmed);
  if (arn === undefined) return { region: home.region, account: home.account, resource: trimmed, fromArn: false };
  if (arn.service !== "secretsmanager" || !arn.resource.startsWith("secret:")) return undefined;
  return { region: arn.region, account: arn.account, resource: arn.resource.slice("secret:".length), fromArn: true };
}

const sameOrUnknown = (a: string | undefined, b: string | undefined): boolean => a === undefined || b === undefined || a === b;

/**
 * Whether a resource's reference and a tracked secret name the same secret. Either side may be a
 * full ARN, a partial ARN (no random suffix) or a name; which of the first two an ARN is cannot
 * be told from its text, so one side's suffix may be dropped to meet the other's partial form,
 * but never both: two full ARNs that differ only in the suffix are two secrets (one deleted and
 * re-created under the same name).
 */
function sameSecret(reference: Placed, tracked: Placed): boolean {
  if (!sameOrUnknown(reference.region, tracked.region) || !sameOrUnknown(reference.account, tracked.account)) return false;
  const r = reference.resource;
  const t = tracked.resource;
  if (r === t) return true;
  if (tracked.fromArn && RANDOM_SUFFIX.test(t) && r === t.replace(RANDOM_SUFFIX, "")) return true;
  return reference.fromArn && RANDOM_SUFFIX.test(r) && r.replace(RANDOM_SUFFIX, "") === t;
}

/**
 * The tracked secrets that `reference`, held by a resource at `at`, names. A bare name resolves
 * in the resource's own region and account. A tracked secret given by name lives where the
 * deployment reads it: in `defaultRegion`, and in the account being searched, since only the
 * caller's own resources are listed. Several registries may share one secret, so all matches
 * are returned.
 */
export function trackedSecretsReferenced(reference: string | undefined, at: AwsLocation, tracked: readonly TrackedSecret[], defaultRegion: string | undefined): TrackedSecret[] {
  if (reference === undefined) return [];
  const placed = place(reference, at);
  if (placed === undefined) return [];
  return tracked.filter((t) => {
    const secret = place(t.secret, { region: defaultRegion, account: at.account });
    return secret !== undefined && sameSecret(placed, secret);
  });
}
