import { closest, distance } from "fastest-levenshtein";
import * as z from "zod";
import { AWS_PARTITIONS, AWS_SDK_VERSION } from "./aws-regions.generated.js";

/**
 * The known word `given` is most likely a typo of, or undefined when none is close: at most 2
 * edits, and at most half of the word (so "ghrc" is "ghcr", but "id" is not "kind").
 */
export function nearest(given: string, known: Iterable<string>): string | undefined {
  const candidates = [...known];
  if (candidates.length === 0 || given === "") return undefined;
  const best = closest(given, candidates);
  const edits = distance(given, best);
  return edits <= 2 && edits * 2 <= given.length ? best : undefined;
}

/** ` (did you mean "path"?)`, or "" when nothing is close. */
export function didYouMean(given: string, known: Iterable<string>): string {
  const match = nearest(given, known);
  return match === undefined ? "" : ` (did you mean "${match}"?)`;
}

/** Every region the AWS SDK knows, in every partition. */
export const KNOWN_AWS_REGIONS: ReadonlySet<string> = new Set(AWS_PARTITIONS.flatMap((p) => p.regions));

/**
 * Why `region` is not accepted, or undefined when it is.
 *
 * Decision: a region is accepted only when the AWS SDK's partitions list it (generated from the
 * installed SDK by scripts/generate-aws-regions.ts, checked by a test). A name that merely
 * matches a partition's pattern is refused too: "eu-westt-1" matches aws's pattern as well as a
 * region AWS opens tomorrow, and a typo that deploys fails at 03:00 in a function nobody watches.
 * The cost is that a region newer than the SDK is refused until the SDK is updated and the list
 * regenerated; the message says so, and suggests the nearest known region.
 */
export function awsRegionIssue(region: string): string | undefined {
  if (KNOWN_AWS_REGIONS.has(region)) return undefined;
  const suggestion = didYouMean(region, KNOWN_AWS_REGIONS);
  if (AWS_PARTITIONS.some((p) => new RegExp(p.regionRegex).test(region))) {
    return `unknown AWS region "${region}"${suggestion}: not a region of AWS SDK ${AWS_SDK_VERSION} (a region opened since needs a newer SDK: update @aws-sdk/* and run npx tsx scripts/generate-aws-regions.ts)`;
  }
  return `expected an AWS region such as eu-west-1, got "${region}"${suggestion}`;
}

/** An AWS region the SDK knows (source.region, a consumer target's region). */
export const awsRegion = z.string().superRefine((region, ctx) => {
  const issue = awsRegionIssue(region);
  if (issue !== undefined) ctx.addIssue({ code: "custom", message: issue });
});
