import * as z from "zod";
import { duration, schedule, secretId } from "../../config/config-fields.js";
import { parseDuration } from "../../model/duration.js";
import { checkLifetime } from "../shared/lifetime.js";
import { providerSourceModule } from "../shared/provider-source.js";

export type { HarborRobotSource } from "./source.js";

/** Harbor's rule for robot and project names: lower-case letters and digits, single separators inside. */
const NAME = /^[a-z0-9]+(?:[._-][a-z0-9]+)*$/;
const DAY = 86_400;
const robotName = z.string().max(255).regex(NAME, "expected a Harbor robot name (lower-case letters and digits, with . _ - between them)");

const harborRobotSchema = z
  .strictObject({
    type: z.literal("harbor-robot"),
    admin: secretId,
    api: z.url({ protocol: /^https?$/, error: "expected Harbor's URL, such as https://harbor.example.com" }),
    project: z.string().max(255).regex(NAME, "expected a Harbor project name (lower-case letters and digits, with . _ - between them)").optional(),
    robots: z
      .tuple([robotName, robotName])
      .refine(([a, b]) => a !== b, "expected two different robots to alternate between")
      .default(["pullkeeper-blue", "pullkeeper-green"]),
    lifetime: duration.default(parseDuration("30d") ?? 30 * DAY),
    rotation: schedule.default("rate(7 days)"),
  })
  .superRefine((s, ctx) => {
    if (s.lifetime % DAY !== 0) ctx.addIssue({ code: "custom", path: ["lifetime"], message: "expected whole days (such as 30d): Harbor counts a robot's duration in days" });
    checkLifetime(s, ctx);
  });

/**
 * Harbor robot accounts, pull-only, made and refreshed through Harbor's API: a project's robots
 * (`project`) or system robots. Harbor holds one secret per robot, so two robots (`robots`)
 * alternate: the rotation refreshes the idle one's secret; the revocation refreshes the previous
 * one's again and keeps nothing. Robots expire (`lifetime`, renewed at each issue).
 */
export const harborRobotModule = providerSourceModule({ type: "harbor-robot", schema: harborRobotSchema, expires: true, load: () => import("./runtime.js") });
