import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** The real payloads, copied into the repository with their sources (test/fixtures/shared/ORIGIN.md). */
export const FIXTURES = fileURLToPath(new URL("../fixtures/shared/", import.meta.url));

export function fixture<T = unknown>(path: string): T {
  return JSON.parse(readFileSync(`${FIXTURES}${path}`, "utf8")) as T;
}

export function fixtureText(path: string): string {
  return readFileSync(`${FIXTURES}${path}`, "utf8");
}
