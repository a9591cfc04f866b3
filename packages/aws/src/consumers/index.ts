export { CodeBuildTarget, type CodeBuildTargetOptions } from "./codebuild/codebuild-target.js";
export { type CodeBuildProjectTargetConfig, codeBuildProjectTargetSchema } from "./codebuild/schema.js";
export { EcsTaskDefinitionTarget, type EcsTaskDefinitionTargetOptions, ROLL_FAILED } from "./ecs/ecs-target.js";
export { type EcsTaskDefinitionTargetConfig, ecsTaskDefinitionTargetSchema } from "./ecs/schema.js";
export { RESTART_UNSUPPORTED } from "./ecs/restart.js";
export { UndeclaredConsumerFinder, type UndeclaredConsumerFinderOptions } from "./undeclared/finder.js";
export { type RegionSources, undeclaredSearchRegions } from "./undeclared/regions.js";
export { trackedSecretsReferenced } from "./undeclared/secret-match.js";
export { awsDeliveryError } from "./shared/aws-errors.js";
export { imageOnHost, isEcrHost, normalizeRegistryHost, parseImageReference, type ImageReference } from "./shared/image-host.js";
export { checkRoleSecretAccess, simulatePrincipalAccess, type AccessQuestion, type SimulatedAccess } from "./shared/principal-access.js";
export { WiringCode, WiringError, type WiringFault } from "./shared/wiring.js";

