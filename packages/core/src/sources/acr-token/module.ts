import * as z from "zod";
import { duration, schedule, secretId } from "../../config/config-fields.js";
import { parseDuration } from "../../model/duration.js";
import { checkLifetime } from "../shared/lifetime.js";
import { providerSourceModule } from "../shared/provider-source.js";

export type { AcrTokenSource } from "./source.js";

const GUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
/** The patterns of ARM's description (containerregistry.json 2025-04-01 and the common types). */
const RESOURCE_GROUP = /^[-\w._()]{1,90}$/;
const REGISTRY = /^[a-zA-Z0-9]{5,50}$/;
const TOKEN = /^[a-zA-Z0-9-]{5,50}$/;
const DAY = 86_400;

const acrTokenSchema = z
  .strictObject({
    type: z.literal("acr-token"),
    admin: secretId,
    subscription: z.string().regex(GUID, "expected the Azure subscription id, a GUID such as 00000000-0000-0000-0000-000000000000"),
    resourceGroup: z
      .string()
      .regex(RESOURCE_GROUP, "expected a resource group name: 1 to 90 letters, digits, '-', '_', '.', '(' or ')'")
      .refine((s) => !s.endsWith("."), "expected a resource group name that does not end with '.'"),
    registry: z.string().regex(REGISTRY, "expected the registry's name (5 to 50 letters and digits, the <name> of <name>.azurecr.io)"),
    token: z.string().regex(TOKEN, "expected an ACR token name: 5 to 50 letters, digits and '-'"),
    lifetime: duration.default(parseDuration("30d") ?? 30 * DAY),
    rotation: schedule.default("rate(7 days)"),
    api: z.url({ protocol: /^https?$/, error: "expected Azure Resource Manager's base URL, such as https://management.azure.com" }).default("https://management.azure.com"),
    login: z.url({ protocol: /^https?$/, error: "expected Microsoft Entra ID's base URL, such as https://login.microsoftonline.com" }).default("https://login.microsoftonline.com"),
  })
  .superRefine((s, ctx) => checkLifetime(s, ctx));

/**
 * An ACR token's two passwords (`password1`, `password2`) taking turns: each rotation regenerates
 * the idle one with an expiry (`lifetime`) through Azure Resource Manager; the revocation removes
 * the previous one from the token. The token, with a pull-only scope map, is made by a person.
 */
export const acrTokenModule = providerSourceModule({ type: "acr-token", schema: acrTokenSchema, expires: true, load: () => import("./runtime.js") });
