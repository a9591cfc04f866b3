import type { Context } from "aws-lambda";

/** The Lambda context a handler under test is invoked with: request id "req" and a minute left, unless `fields` say otherwise. */
export const lambdaContext = (functionName: string, fields: Partial<Context> = {}): Context =>
  ({ functionName, awsRequestId: "req", getRemainingTimeInMillis: () => 60_000, ...fields }) as unknown as Context;
