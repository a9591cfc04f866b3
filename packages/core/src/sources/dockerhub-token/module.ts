import * as z from "zod";
import { duration, schedule, secretId } from "../../config/config-fields.js";
import { parseDuration } from "../../model/duration.js";
import { checkLifetime } from "../shared/lifetime.js";
import { providerSourceModule } from "../shared/provider-source.js";

export type { DockerHubTokenSource } from "./source.js";

/** Docker Hub namespaces: 4 to 30 lower-case letters and digits. */
const NAMESPACE = /^[a-z0-9]{4,30}$/;
/** `acme/app`, `acme/*` (a glob over the organization's repositories), or `*\/*\/public` (every public repository). */
const REPOSITORY = /^(?:[a-z0-9]{4,30}\/(?:\*|[a-z0-9][a-z0-9._-]{0,254})|\*\/\*\/public)$/;
const DAY = 86_400;

const dockerHubTokenSchema = z
  .strictObject({
    type: z.literal("dockerhub-token"),
    admin: secretId,
    organization: z.string().regex(NAMESPACE, "expected a Docker Hub organization name (4 to 30 lower-case letters and digits)").optional(),
    repositories: z.array(z.string().regex(REPOSITORY, "expected <organization>/<repository>, <organization>/* or */*/public")).min(1).max(100).optional(),
    lifetime: duration.default(parseDuration("30d") ?? 30 * DAY),
    rotation: schedule.default("rate(7 days)"),
    api: z.url({ protocol: /^https?$/, error: "expected the API's base URL, such as https://hub.docker.com" }).default("https://hub.docker.com"),
  })
  .superRefine((s, ctx) => {
    if (s.repositories !== undefined && s.organization === undefined) {
      ctx.addIssue({ code: "custom", path: ["repositories"], message: "a personal access token reaches every repository its user can; repositories scope an organization's token: set organization" });
    }
    for (const [i, path] of (s.repositories ?? []).entries()) {
      if (s.organization !== undefined && path !== "*/*/public" && !path.startsWith(`${s.organization}/`)) {
        ctx.addIssue({ code: "custom", path: ["repositories", i], message: `"${path}" is not in organization ${s.organization}` });
      }
    }
    checkLifetime(s, ctx);
  });

/**
 * Docker Hub access tokens, made and deleted through Docker Hub's API: an organization's
 * (`organization`, pull-only on `repositories`) or the admin's own (read-only). Independent tokens
 * that expire (`lifetime`): each rotation makes a new one; the revocation deletes the old.
 */
export const dockerHubTokenModule = providerSourceModule({ type: "dockerhub-token", schema: dockerHubTokenSchema, expires: true, load: () => import("./runtime.js") });
