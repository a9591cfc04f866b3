// The delivery targets the functions register, for validating consumers at deploy time
// (stacks/consumers.ts). Plain JavaScript with a declaration beside it (delivery-targets.d.ts)
// on purpose: the stacks are type-checked against SST's own Node.js types
// (tsconfig.stacks.json), and the runtime's whole dependency graph (Powertools, the AWS SDK,
// the targets outside AWS) does not compile against those. tsc stops at the declaration; SST's
// esbuild bundle and vitest load the real module. test/infra/delivery-targets.test.ts checks
// that the declaration matches the runtime's function.
export { deliveryTargets } from "../packages/aws/src/lambda/propagation-runtime.ts";
