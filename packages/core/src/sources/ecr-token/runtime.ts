import { type Registry, type TokenScope, tokenScopeKey } from "../../model/model.js";
import type { SourceRuntime } from "../../model/source-module.js";
import type { EcrTokenSource } from "./source.js";

/** Who mints an ECR or ECR Public registry's token: one GetAuthorizationToken serves a whole scope. */
export function scopeOf(registry: Registry): TokenScope {
  const source = registry.source as EcrTokenSource;
  return {
    kind: registry.kind === "ecr-public" ? "ecr-public" : "ecr",
    account: source.account,
    region: source.region,
    ...(source.roleArn !== undefined && { roleArn: source.roleArn }),
    ...(source.externalId !== undefined && { externalId: source.externalId }),
  };
}

/** The ecr-token source's runtime: its tokens come from the `tokens` port (packages/aws's EcrTokenSource). */
const runtime: SourceRuntime = {
  minter: (registry, ports) => {
    const scope = scopeOf(registry);
    return { scope: tokenScopeKey(scope), mint: () => ports.tokens.mint(scope) };
  },
};
export default runtime;
