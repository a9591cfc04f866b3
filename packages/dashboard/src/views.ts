import type { consumerView, environmentView, historyView, registryView, versionView } from "@pullkeeper/core";

/**
 * The audit API's JSON as the dashboard reads it, typed from the core's view functions (types
 * only: nothing of the core ends up in the browser bundle).
 */
export type RegistryView = Json<ReturnType<typeof registryView>>;
export type EnvironmentView = Json<ReturnType<typeof environmentView>>;
export type HistoryView = Json<ReturnType<typeof historyView>>;
/** A declared consumer of GET /v1/consumers (undeclared ones have `declared: false` and no delivery). */
export type ConsumerView = Json<ReturnType<typeof consumerView>>;
export type DeliveryView = NonNullable<ConsumerView["delivery"]>;

/** What JSON.stringify makes of a view: a Date left in one arrives as its ISO string. */
type Json<T> = T extends Date ? string : T extends readonly (infer U)[] ? Json<U>[] : T extends object ? { readonly [K in keyof T]: Json<T[K]> } : T;
export type VerdictCounts = NonNullable<RegistryView["environments"]>["counts"];

/** GET /v1/registries/{id}/versions: the current and previous versions with their lifecycle. */
export interface VersionsBody {
  readonly registry: string;
  readonly items: readonly (NonNullable<Json<ReturnType<typeof versionView>>> & {
    readonly role: "current" | "previous";
    readonly deliveredTo: { readonly consumers: number; readonly of: number };
    readonly heldBy: { readonly environments: number };
  })[];
}

export interface ListBody<T> {
  readonly items: readonly T[];
  readonly cursor: string | null;
}

/** Every API error. */
export interface ApiErrorBody {
  readonly code: string;
  readonly message: string;
}
