import * as z from "zod";
import { duration, schedule, secretId } from "../../config/config-fields.js";
import { parseDuration } from "../../model/duration.js";
import { checkLifetime } from "../shared/lifetime.js";
import { providerSourceModule } from "../shared/provider-source.js";

export type { JFrogTokenSource } from "./source.js";

const DAY = 86_400;
/** A colon would end the username in a registry's Basic login; JFrog caps `username` at 255. */
const USERNAME = /^[^\s:]{1,255}$/;

const jfrogTokenSchema = z
  .strictObject({
    type: z.literal("jfrog-token"),
    admin: secretId,
    api: z.url({ protocol: /^https?$/, error: "expected the JFrog Platform's base URL, such as https://acme.jfrog.io" }).transform((url) => url.replace(/\/+$/, "")),
    username: z.string().regex(USERNAME, "expected the JFrog username the tokens are for (1 to 255 characters, no spaces or ':')"),
    scope: z.string().trim().min(1, "expected a token scope, such as applied-permissions/user").max(500, "expected at most 500 characters (JFrog's limit)").default("applied-permissions/user"),
    lifetime: duration.default(parseDuration("30d") ?? 30 * DAY),
    rotation: schedule.default("rate(7 days)"),
  })
  .superRefine((s, ctx) => {
    const url = URL.canParse(s.api) ? new URL(s.api) : undefined;
    if (url !== undefined && (url.username !== "" || url.password !== "" || url.search !== "" || url.hash !== "")) {
      ctx.addIssue({ code: "custom", path: ["api"], message: "expected the platform's base URL alone: no login, query or fragment (the admin token comes from `admin`)" });
    }
    if (url !== undefined && /\/(?:artifactory|access)\/?$/.test(url.pathname)) {
      ctx.addIssue({ code: "custom", path: ["api"], message: `expected the platform's base URL, without /artifactory or /access (${url.origin}); the Access API is under <base>/access/api/v1` });
    }
    // A pull credential with the platform's admin rights is never what a consumer needs.
    if (s.scope.split(/\s+/).includes("applied-permissions/admin")) {
      ctx.addIssue({ code: "custom", path: ["scope"], message: "an admin-scoped token would let every consumer administer the platform; use applied-permissions/user (a read-only user) or applied-permissions/groups:<group>" });
    }
    checkLifetime(s, ctx);
  });

/**
 * JFrog access tokens, created and revoked through the JFrog Platform's Access Tokens API as an
 * admin access token, for one user (`username`) with `scope`. Independent tokens that expire
 * (`lifetime`): each rotation creates a new one; the revocation revokes the old.
 */
export const jfrogTokenModule = providerSourceModule({ type: "jfrog-token", schema: jfrogTokenSchema, expires: true, load: () => import("./runtime.js") });
