import type { SourceModule, SourceRuntime, SourceSchema } from "../../model/source-module.js";
import { adminSecretPermissions } from "./admin.js";

/**
 * The descriptor of a source that pullkeeper rotates through its provider's API, logged in as the
 * admin its `source.admin` secret holds: it rotates (never mints, never leaves it to someone else),
 * reads that secret on AWS, and loads its runtime on first use. Whether its credentials expire is
 * the one capability each such source declares.
 */
export function providerSourceModule<Schema extends SourceSchema>(spec: {
  readonly type: string;
  readonly schema: Schema;
  readonly expires: boolean;
  readonly load: () => Promise<{ readonly default: SourceRuntime }>;
}): SourceModule<Schema> {
  return {
    type: spec.type,
    schema: spec.schema,
    capabilities: { mints: false, rotates: true, managedElsewhere: false, expires: spec.expires },
    awsPermissions: adminSecretPermissions,
    load: spec.load,
  };
}
