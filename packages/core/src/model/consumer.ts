/**
 * Where a registry's credential must live (a subscription). `target` is kind-specific and
 * validated by that kind's schema (consumersFromConfig).
 *
 * On its own so that delivery (which writes to a consumer) and environments (which a consumer's
 * target discovers) can both name it without importing each other.
 */
export interface Consumer {
  readonly id: string;
  readonly registryId: string;
  /** Opt-in: POST /v1/environments/{id}/restart may stop or roll this consumer's stale environments. */
  readonly restart?: boolean;
  readonly target: { readonly kind: string } & Readonly<Record<string, unknown>>;
}
