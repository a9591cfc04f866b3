import type { z } from "zod";
import { InvalidInputError } from "./errors.js";

/** `registries[2].source.region` from zod's ["registries", 2, "source", "region"]. */
export function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((out, key) => (typeof key === "number" ? `${out}[${key}]` : out === "" ? String(key) : `${out}.${String(key)}`), "");
}

export function formatIssues(error: z.ZodError): string[] {
  return error.issues.map((issue) => `${formatPath(issue.path) || "(top level)"}: ${issue.message}`);
}

/** Parses `input`, or throws an InvalidInputError that names every bad field of `what`. */
export function parseWith<S extends z.ZodType>(schema: S, input: unknown, what: string): z.output<S> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issues = formatIssues(parsed.error);
  throw new InvalidInputError(`${what} is not valid:\n  ${issues.join("\n  ")}`, issues);
}
