import type middy from "@middy/core";
import { parseWith } from "@pullkeeper/core";
import type { z } from "zod";

/**
 * Replaces the raw event with its parsed form, or rejects the invocation with every bad field
 * named (Powertools' parser middleware says only "Failed to parse schema"). Runs before the
 * handler, so a bad event never reaches an adapter.
 */
export function validateEvent<S extends z.ZodType>(schema: S, what = "event"): middy.MiddlewareObj<unknown, unknown> {
  return {
    before: (request) => {
      request.event = parseWith(schema, request.event, what);
    },
  };
}
