import * as z from "zod";
import { duration, schedule, secretId } from "../../config/config-fields.js";
import { parseDuration } from "../../model/duration.js";
import { checkLifetime } from "../shared/lifetime.js";
import { providerSourceModule } from "../shared/provider-source.js";

export type { GitLabTokenSource, GitLabTokenKind } from "./source.js";

const NUMERIC_ID = /^[1-9]\d*$/;
/** A namespace or project path segment as GitLab allows it: letters, digits, `_`, `-` and `.`, not starting with `-` or `.`. */
const SEGMENT = "[A-Za-z0-9_][A-Za-z0-9_.-]*";
/** A project always lives in a namespace: `acme/web`, `acme/platform/web`. */
const PROJECT = new RegExp(`^(?:[1-9]\\d*|${SEGMENT}(?:/${SEGMENT})+)$`);
const GROUP = new RegExp(`^(?:[1-9]\\d*|${SEGMENT}(?:/${SEGMENT})*)$`);
const DAY = 86_400;

/** YAML reads `project: 1234` as a number: an ID either way, kept as text. */
const idOrPath = (pattern: RegExp, message: string) =>
  z
    .union([z.string(), z.int().positive()], { error: message })
    .transform(String)
    .pipe(z.string().regex(pattern, message));

const gitlabTokenSchema = z
  .strictObject({
    type: z.literal("gitlab-token"),
    admin: secretId,
    project: idOrPath(PROJECT, "expected a project's numeric ID or its full path (acme/web)").optional(),
    group: idOrPath(GROUP, "expected a group's numeric ID or its full path (acme or acme/platform)").optional(),
    kind: z.enum(["deploy-token", "access-token"], { error: "expected deploy-token (the default) or access-token" }).default("deploy-token"),
    lifetime: duration.default(parseDuration("30d") ?? 30 * DAY),
    rotation: schedule.default("rate(7 days)"),
    api: z
      .url({ protocol: /^https?$/, error: "expected the GitLab instance's base URL, such as https://gitlab.com" })
      .refine((u) => !/\/api\/v4\/?$/.test(u), "expected the instance's base URL without /api/v4 (pullkeeper adds it)")
      .default("https://gitlab.com"),
  })
  .superRefine((s, ctx) => {
    if ((s.project === undefined) === (s.group === undefined)) {
      ctx.addIssue({ code: "custom", path: [s.project === undefined ? "project" : "group"], message: "set exactly one of project and group: whose registry the tokens open" });
    }
    // GitLab's API description types a group's {id} as an integer for deploy tokens (a string, ID or path, for access tokens).
    if (s.kind === "deploy-token" && s.group !== undefined && !NUMERIC_ID.test(s.group)) {
      ctx.addIssue({ code: "custom", path: ["group"], message: "group deploy tokens take the group's numeric ID (shown on the group's overview page), not its path" });
    }
    checkLifetime(s, ctx);
  });

/**
 * GitLab deploy tokens (default) or project/group access tokens, scoped `read_registry`, made and
 * deleted through GitLab's REST API with the admin token. Independent tokens that expire
 * (`lifetime`): each rotation makes a new one; the revocation deletes or revokes the old.
 */
export const gitlabTokenModule = providerSourceModule({ type: "gitlab-token", schema: gitlabTokenSchema, expires: true, load: () => import("./runtime.js") });
