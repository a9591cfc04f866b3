/** Fake Harbor data model: robot/login/option types, secret rules, and the robot views Harbor answers with. */
import { randomInt } from "node:crypto";
import type { CredentialRegistry } from "./credential-registry.js";
import type { RecordedRequest } from "./provider-fake.js";

export const HARBOR_BASE_PATH = "/api/v2.0";

/**
 * Harbor itself has no robot-count limit in its API description (CreateRobot declares 201, 400,
 * 401, 403, 404, 500); the stand-in's quota answers as Harbor's quota checks do (403, code
 * DENIED), so that a client's "quota reached" classification has something to meet.
 */
export const ROBOT_QUOTA_MESSAGE = "robot quota exceeded";

export interface HarborLogin {
  readonly username: string;
  readonly password: string;
}

/** A recorded request: path without /api/v2.0 and the query, any `secret` in the body redacted. */
export type HarborRequest = RecordedRequest;

export interface HarborRobot {
  readonly id: number;
  /** The login: robot$<project>+<name> or robot$<name>. */
  readonly name: string;
  readonly level: "system" | "project";
  description: string;
  disable: boolean;
  /** Days; -1 never expires. */
  duration: number;
  /** Epoch seconds; -1 never. */
  expiresAt: number;
  readonly creationTime: string;
  updateTime: string;
  permissions: unknown[];
}

export interface StoredRobot extends HarborRobot {
  secret: string;
  /** The project a project robot belongs to; 0 for a system robot (Harbor's robot table). */
  projectId: number;
}

export interface FakeHarborOptions {
  readonly registry: CredentialRegistry;
  readonly admin: HarborLogin;
  /** Users Harbor knows who may not manage robots: 403. */
  readonly others?: readonly HarborLogin[];
  readonly maxRobots?: number;
  /** The clock's start (ms); Date.now() by default. */
  readonly now?: number;
  /** Harbor's `robot_token_duration` (days), used for duration 0. */
  readonly defaultDurationDays?: number;
  /** The projects Harbor has, by name → project_id; default { library: 1 }. */
  readonly projects?: Readonly<Record<string, number>>;
}

export const NAME = /^[a-z0-9]+(?:[._-][a-z0-9]+)*$/;
export const SECRET_RULE = "the secret must be 8-128, inclusively, characters long with at least 1 uppercase letter, 1 lowercase letter and 1 number";

/** Harbor's rule for a robot secret (IsValidSec). */
export function isValidHarborSecret(secret: string): boolean {
  return secret.length >= 8 && secret.length <= 128 && /[A-Z]/.test(secret) && /[a-z]/.test(secret) && /[0-9]/.test(secret);
}

export function generateSecret(): string {
  const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  for (;;) {
    const s = Array.from({ length: 32 }, () => alphabet[randomInt(alphabet.length)]).join("");
    if (isValidHarborSecret(s)) return s;
  }
}

/** A robot as the fake shows it: without its secret. */
export function robotView(r: StoredRobot): HarborRobot {
  const { secret: _secret, projectId: _projectId, ...view } = r;
  return { ...view, permissions: structuredClone(r.permissions) };
}

/** The robot as Harbor's GET answers it (no secret). */
export function harborSwagger(r: StoredRobot): Record<string, unknown> {
  return {
    id: r.id,
    name: r.name,
    description: r.description,
    level: r.level,
    disable: r.disable,
    duration: r.duration,
    expires_at: r.expiresAt,
    editable: true,
    creator_type: "local",
    creator_ref: 1,
    creation_time: r.creationTime,
    update_time: r.updateTime,
    permissions: structuredClone(r.permissions),
  };
}

/** The login in a Basic Authorization header, if any. */
export function parseBasicLogin(auth: string | undefined): HarborLogin | undefined {
  const m = /^Basic (.+)$/i.exec(auth ?? "");
  if (m?.[1] === undefined) return undefined;
  const decoded = Buffer.from(m[1], "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  return colon < 0 ? undefined : { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}
