import type { environmentView, historyView, registryView } from "@pullkeeper/core";

/**
 * The audit API's JSON as the dashboard reads it, typed from the core's view functions (types
 * only: nothing of the core ends up in the browser bundle).
 */
export type RegistryView = ReturnType<typeof registryView>;
export type EnvironmentView = ReturnType<typeof environmentView>;
export type HistoryView = ReturnType<typeof historyView>;
export type VerdictCounts = NonNullable<RegistryView["environments"]>["counts"];

export interface ListBody<T> {
  readonly items: readonly T[];
  readonly cursor: string | null;
}

/** Every API error. */
export interface ApiErrorBody {
  readonly code: string;
  readonly message: string;
}
