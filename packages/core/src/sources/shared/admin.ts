import type { RegistrySource } from "../../model/model.js";
import type { SourceAwsPermissions } from "../../model/source-module.js";

/** What a source that logs in to its provider's API as an admin (`source.admin`, a vault secret) asks of AWS. */
export const adminSecretPermissions: SourceAwsPermissions = {
  /** Reading the admin login: the secrets the sources name, nothing else. */
  rotation: (registries, context) => [
    { actions: ["secretsmanager:GetSecretValue"], resources: [...new Set(registries.map((r) => context.secretArn((r.source as RegistrySource & { readonly admin: string }).admin)))] },
  ],
};
