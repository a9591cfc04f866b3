// Powertools' Tracer and its middleware, loaded by observability.ts only where tracing is on.
export { Tracer } from "@aws-lambda-powertools/tracer";
export { captureLambdaHandler } from "@aws-lambda-powertools/tracer/middleware";
