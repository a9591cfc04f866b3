import * as z from "zod";
import type { RegistrySource } from "../../model/model.js";
import type { SourceModule } from "../../model/source-module.js";

/** Someone else changes the secret; pullkeeper only propagates it. */
export interface ManagedSecretSource extends RegistrySource {
  readonly type: "managed-secret";
}

const managedSecretSchema = z.strictObject({ type: z.literal("managed-secret") });

/** A secret written by someone else (a person, another tool): pullkeeper carries it and audits who holds it. */
export const managedSecretModule: SourceModule<typeof managedSecretSchema> = {
  type: "managed-secret",
  schema: managedSecretSchema,
  capabilities: { mints: false, rotates: false, managedElsewhere: true, expires: false },
};
