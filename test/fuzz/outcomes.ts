import { InvalidInputError } from "@pullkeeper/core";
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** What every fuzz target allows besides its parsed value: the project's own validation error. */

/** Runs `parse`; returns its value, or undefined when it refused the input with an InvalidInputError (of `kind` when given). Anything else fails the property. */
export function parsedOrRefused<T>(parse: () => T, kind: new (...args: never[]) => InvalidInputError = InvalidInputError): T | undefined {
  try {
    return parse();
  } catch (error) {
    expectRefusal(error, kind);
    return undefined;
  }
}

export async function parsedOrRefusedAsync<T>(parse: () => Promise<T>, kind: new (...args: never[]) => InvalidInputError = InvalidInputError): Promise<T | undefined> {
  try {
    return await parse();
  } catch (error) {
    expectRefusal(error, kind);
    return undefined;
  }
}

function expectRefusal(error: unknown, kind: new (...args: never[]) => InvalidInputError): void {
  if (!(error instanceof kind)) throw new Error(`expected ${kind.name} or a parsed value, got ${describe(error)}`, { cause: error });
  if (error.message.trim() === "") throw new Error(`${kind.name} without a message`);
  if (!error.issues.every((issue) => typeof issue === "string")) throw new Error(`${kind.name} with issues that are not text`);
}

export function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message.slice(0, 300)}\n${error.stack?.split("\n").slice(1, 6).join("\n")}` : String(error);
}

/** The JSON fixtures of a folder under test/fixtures (real payloads, with their sources). */
export function fixturesIn(folder: string, match: RegExp = /\.json$/): unknown[] {
  const dir = fileURLToPath(new URL(`../fixtures/${folder}/`, import.meta.url));
  return readdirSync(dir)
    .filter((name) => match.test(name))
    .sort()
    .map((name) => JSON.parse(readFileSync(`${dir}${name}`, "utf8")) as unknown);
}

export function check(condition: boolean, what: string): void {
  if (!condition) throw new Error(what);
}
