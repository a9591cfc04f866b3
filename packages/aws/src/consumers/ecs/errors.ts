/** ECS's answers for a service or cluster that is gone: retrying will not bring it back. */
export const ECS_NOT_FOUND: ReadonlySet<string> = new Set(["ServiceNotFoundException", "ServiceNotActiveException", "ClusterNotFoundException"]);
