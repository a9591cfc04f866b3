import type { ConsumerView, DeliveryView, HistoryView, RegistryView, VersionsBody } from "./views.js";

/** Pure helpers of the dashboard: no DOM, so they are unit-tested in Node. */

/** "45 s", "12 min", "3 h 12 min", "2 d 4 h". */
export function formatDuration(totalSeconds: number): string {
  const s = Math.max(0, Math.floor(totalSeconds));
  if (s < 60) return `${s} s`;
  const minutes = Math.floor(s / 60);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours} h ${minutes % 60} min`;
  return `${Math.floor(hours / 24)} d ${hours % 24} h`;
}

export interface Expiry {
  /** Share of the version's lifetime still left, 0..1. */
  readonly fraction: number;
  readonly secondsLeft: number;
  readonly level: "ok" | "low" | "critical" | "expired";
  readonly label: string;
}

/** Time to expiry of a registry's current version; undefined when it does not expire (or there is none). */
export function expiryOf(current: RegistryView["current"], now: Date): Expiry | undefined {
  if (!current?.expiresAt) return undefined;
  const created = Date.parse(current.createdAt);
  const expires = Date.parse(current.expiresAt);
  const secondsLeft = Math.round((expires - now.getTime()) / 1000);
  const lifetime = Math.max(1, (expires - created) / 1000);
  const fraction = Math.min(1, Math.max(0, secondsLeft / lifetime));
  if (secondsLeft <= 0) return { fraction: 0, secondsLeft, level: "expired", label: `expired ${formatDuration(-secondsLeft)} ago` };
  const level = fraction < 0.1 ? "critical" : fraction < 0.3 ? "low" : "ok";
  return { fraction, secondsLeft, level, label: `${formatDuration(secondsLeft)} left of ${formatDuration(lifetime)}` };
}

/** The history entries the timeline shows: rotations and everything that went wrong or changed a verdict. */
export const TIMELINE_TYPES = ["rotated", "verification-failed", "refresh-failed", "delivery-failed", "discovery-failed", "environment-verdict", "environment-restarted", "revoked", "rolled-back"] as const;

/** Several registries' histories (each newest first) as one list, newest first. */
export function mergeTimeline(histories: readonly (readonly HistoryView[])[], limit = 50): HistoryView[] {
  const shown: readonly string[] = TIMELINE_TYPES;
  return histories
    .flat()
    .filter((e) => shown.includes(e.type))
    .sort((a, b) => Date.parse(b.at) - Date.parse(a.at))
    .slice(0, limit);
}

/** One line for a person; never a credential value (the API has none to give). */
export function describeEntry(entry: HistoryView, formatTime: (iso: string) => string = (iso) => iso): { readonly text: string; readonly failure: boolean } {
  switch (entry.type) {
    case "rotated":
      return { text: `rotated to version ${entry.versionId}${entry.expiresAt ? `, expires ${formatTime(entry.expiresAt)}` : ""}`, failure: false };
    case "verification-failed":
      return { text: `verification failed (${entry.status})${entry.versionId ? ` for version ${entry.versionId}` : ""}: ${entry.detail}`, failure: true };
    case "refresh-failed":
      return { text: `refresh failed: ${entry.code}: ${entry.message}`, failure: true };
    case "delivered":
      return { text: `version ${entry.versionId} ${entry.status} to ${entry.consumerId}`, failure: false };
    case "delivery-failed":
      return { text: `delivery of version ${entry.versionId} to ${entry.consumerId} failed: ${entry.code}: ${entry.message}`, failure: true };
    case "discovery-failed":
      return { text: `discovery for ${entry.consumerId} failed: ${entry.code}: ${entry.message}`, failure: true };
    case "environment-restarted":
      return { text: `environment ${entry.name} (${entry.consumerId}) restarted: ${entry.detail}`, failure: false };
    case "revoked":
      return { text: `version ${entry.versionId} revoked (${entry.reason}): ${entry.detail}`, failure: false };
    case "rolled-back":
      return { text: `rolled back from version ${entry.fromVersionId}: version ${entry.restoredVersionId}'s credential is current again as ${entry.versionId}`, failure: false };
    case "environment-verdict":
      return { text: `environment ${entry.name} (${entry.consumerId}): ${entry.from ?? "new"} → ${entry.to}: ${entry.reason}`, failure: entry.to !== "current" && entry.to !== "gone" };
  }
}

/** Only web links become links: a `javascript:` URL from a provider must not run here. */
export function safeUrl(url: string | null): string | undefined {
  if (url === null) return undefined;
  try {
    const parsed = new URL(url);
    return parsed.protocol === "https:" || parsed.protocol === "http:" ? parsed.href : undefined;
  } catch {
    return undefined;
  }
}

/** `#token=...` (possibly among other fragment parameters): the token and the fragment without it. A "+" stays a "+". */
export function tokenFromHash(hash: string): { readonly token: string | undefined; readonly rest: string } {
  let token: string | undefined;
  const rest: string[] = [];
  for (const part of hash.replace(/^#/, "").split("&")) {
    if (part === "") continue;
    if (part.startsWith("token=")) {
      try {
        token = decodeURIComponent(part.slice("token=".length));
      } catch {
        token = part.slice("token=".length);
      }
    } else rest.push(part);
  }
  return { token: token === "" ? undefined : token, rest: rest.length > 0 ? `#${rest.join("&")}` : "" };
}

/** The delivery states the dashboard lists: the ones that are not done. Failed first, then retrying, then under way. */
export const OPEN_DELIVERY_STATES = ["failed", "retrying", "pending"] as const;

/** Declared consumers whose delivery is not done, failed first, then by their next attempt. */
export function openDeliveries(consumers: readonly ConsumerView[]): (ConsumerView & { delivery: DeliveryView })[] {
  const rank = (state: string) => (OPEN_DELIVERY_STATES as readonly string[]).indexOf(state);
  return consumers
    .filter((c): c is ConsumerView & { delivery: DeliveryView } => c.declared && c.delivery !== null && rank(c.delivery.state) >= 0)
    .sort((a, b) => rank(a.delivery.state) - rank(b.delivery.state) || (a.delivery.nextAttemptAt ?? "").localeCompare(b.delivery.nextAttemptAt ?? "") || a.id.localeCompare(b.id));
}

/** What happens next for an open delivery, for people: "next attempt in 3 min", "reconcile tries again in 52 min". */
export function nextStep(delivery: DeliveryView, now: Date): string {
  const inText = (iso: string) => {
    const seconds = Math.round((Date.parse(iso) - now.getTime()) / 1000);
    return seconds <= 0 ? "due now" : `in ${formatDuration(seconds)}`;
  };
  switch (delivery.state) {
    case "retrying":
      return delivery.nextAttemptAt === null ? "next attempt soon" : `next attempt ${inText(delivery.nextAttemptAt)}`;
    case "failed":
      if (delivery.redriveAt === null) return "redeliver once the cause is fixed";
      return `fix the cause and redeliver; reconcile tries again ${Date.parse(delivery.redriveAt) <= now.getTime() ? "at its next run" : inText(delivery.redriveAt)}`;
    default:
      return "being delivered";
  }
}

/** Every declared consumer, the ones needing attention first: failed, retrying, under way, never delivered, then those done. */
export function consumerRows(consumers: readonly ConsumerView[]): ConsumerView[] {
  const order = ["failed", "retrying", "pending", "never", "delivered", "verified"];
  const rank = (c: ConsumerView) => order.indexOf(c.delivery?.state ?? "never");
  return consumers.filter((c) => c.declared).sort((a, b) => rank(a) - rank(b) || a.registry.localeCompare(b.registry) || a.id.localeCompare(b.id));
}

/**
 * "2 Dec, 06:12 UTC": every time on the page in one form, with its zone (the browser's, or the one
 * given), so nobody has to guess whether 06:12 is theirs or the server's.
 */
export function formatTime(iso: string, options: { readonly timeZone?: string; readonly locale?: string; readonly seconds?: boolean; readonly date?: boolean } = {}): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return new Intl.DateTimeFormat(options.locale ?? "en-GB", {
    ...(options.date !== false && { day: "numeric", month: "short" }),
    hour: "2-digit",
    minute: "2-digit",
    ...(options.seconds === true && { second: "2-digit" }),
    hour12: false,
    timeZoneName: "short",
    ...(options.timeZone !== undefined && { timeZone: options.timeZone }),
  }).format(date);
}

/** One version's time as current (or previous) on a registry's timeline. */
export interface VersionSpan {
  readonly versionId: string;
  readonly start: number;
  /** When another version took over; null while it is current. */
  readonly end: number | null;
  readonly expiresAt: number | null;
  readonly role: "current" | "previous" | "older";
  readonly revoked: boolean;
  readonly deliveredTo: { readonly consumers: number; readonly of: number } | null;
  readonly heldBy: number | null;
}

/**
 * A registry's versions as spans of time, oldest first: from the rotations (and rollbacks) in its
 * history and the current and previous versions' own lifecycle. A version starts when it was
 * promoted (else when the rotation was recorded, else when it was made) and ends when the next one started.
 */
export function versionSpans(history: readonly HistoryView[], versions: VersionsBody | null): VersionSpan[] {
  const lifecycle = new Map((versions?.items ?? []).map((v) => [v.versionId, v]));
  const starts = new Map<string, number>();
  for (const e of history) {
    if (e.type !== "rotated" && e.type !== "rolled-back") continue;
    const at = Date.parse(e.at);
    starts.set(e.versionId, Math.min(at, starts.get(e.versionId) ?? at));
  }
  for (const v of lifecycle.values()) {
    const promoted = v.promotedAt === null ? undefined : Date.parse(v.promotedAt);
    starts.set(v.versionId, promoted ?? starts.get(v.versionId) ?? Date.parse(v.createdAt));
  }
  const ordered = [...starts.entries()].sort((a, b) => a[1] - b[1]);
  return ordered.map(([versionId, start], i) => {
    const v = lifecycle.get(versionId);
    const next = ordered[i + 1]?.[1];
    const superseded = v?.supersededAt ? Date.parse(v.supersededAt) : undefined;
    const rotatedExpiry = history.find((e) => e.type === "rotated" && e.versionId === versionId && e.expiresAt);
    const expires = v?.expiresAt ?? (rotatedExpiry?.type === "rotated" ? rotatedExpiry.expiresAt : undefined) ?? null;
    return {
      versionId,
      start,
      end: v?.role === "current" ? null : (superseded ?? next ?? null),
      expiresAt: expires === null ? null : Date.parse(expires),
      role: v?.role ?? (next === undefined ? "current" : "older"),
      revoked: v?.revoked != null,
      deliveredTo: v?.deliveredTo ?? null,
      heldBy: v?.heldBy.environments ?? null,
    };
  });
}

/** "1 version", "3 versions", "1 running environment". */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
