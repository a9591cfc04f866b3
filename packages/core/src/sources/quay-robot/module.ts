import * as z from "zod";
import { schedule, secretId } from "../../config/config-fields.js";
import { providerSourceModule } from "../shared/provider-source.js";

export type { QuayRobotSource } from "./source.js";

/** Quay's user and organization names (its web UI's USERNAME_PATTERN): 2 to 255 characters, lower-case letters and digits, single `.`, `_` or `-` between them. */
const NAMESPACE = /^(?=.{2,255}$)[a-z0-9]+(?:[._-][a-z0-9]+)*$/;
/** Quay's robot short names (its ROBOT_PATTERN): a lower-case letter, then 1 to 254 lower-case letters, digits or `_`. */
const SHORTNAME = /^[a-z][a-z0-9_]{1,254}$/;
const NAMESPACE_MESSAGE = "expected a Quay namespace: 2 to 255 lower-case letters and digits, with single '.', '_' or '-' between them";
const SHORTNAME_MESSAGE = "expected a Quay robot short name: a lower-case letter, then 1 to 254 lower-case letters, digits or '_' (no '+': the namespace comes from organization or user)";

const robot = z.string().regex(SHORTNAME, SHORTNAME_MESSAGE);

const quayRobotSchema = z
  .strictObject({
    type: z.literal("quay-robot"),
    admin: secretId,
    organization: z.string().regex(NAMESPACE, NAMESPACE_MESSAGE).optional(),
    user: z.string().regex(NAMESPACE, NAMESPACE_MESSAGE).optional(),
    robots: z
      .tuple([robot, robot])
      .refine(([a, b]) => a !== b, "expected two different robots to alternate between")
      .default(["pullkeeper_blue", "pullkeeper_green"]),
    rotation: schedule.default("rate(7 days)"),
    api: z
      .url({ protocol: /^https?$/, error: "expected Quay's base URL, such as https://quay.io" })
      // pullkeeper adds /api/v1 itself.
      .refine((url) => !/\/api\/v1\/?$/.test(url), "expected Quay's base URL without /api/v1, such as https://quay.io")
      .default("https://quay.io"),
  })
  .superRefine((s, ctx) => {
    if ((s.organization === undefined) === (s.user === undefined)) {
      ctx.addIssue({ code: "custom", path: ["organization"], message: "expected exactly one of organization (an organization's robots) and user (the admin token's user's robots)" });
    }
  });

/**
 * Quay robot accounts, two taking turns (`robots`): each rotation regenerates the idle robot's
 * token (creating the robot the first time), and the revocation regenerates the previous robot's
 * token and drops it. Robot tokens do not expire. Granting the robots read on repositories is the
 * owner's job at Quay: pullkeeper only creates them and replaces their tokens.
 */
export const quayRobotModule = providerSourceModule({ type: "quay-robot", schema: quayRobotSchema, expires: false, load: () => import("./runtime.js") });
