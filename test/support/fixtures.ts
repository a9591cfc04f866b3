import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** The shared, real payloads (../shared/fixtures next to the repository). */
export const FIXTURES = fileURLToPath(new URL("../../../shared/fixtures/", import.meta.url));

export function fixture<T = unknown>(path: string): T {
  return JSON.parse(readFileSync(`${FIXTURES}${path}`, "utf8")) as T;
}

export function fixtureText(path: string): string {
  return readFileSync(`${FIXTURES}${path}`, "utf8");
}
