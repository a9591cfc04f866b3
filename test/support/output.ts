import { vi } from "vitest";

/**
 * Keeps what the code under test writes to process.stdout and process.stderr (and, with
 * `console: true`, through console's methods) in the returned array instead of printing it, so a
 * test can check that no secret leaks into logs. Call it in beforeEach; vi.restoreAllMocks() ends it.
 */
export function captureOutput(options: { readonly console?: boolean } = {}): string[] {
  const output: string[] = [];
  const capture = (chunk: unknown) => (output.push(String(chunk)), true);
  vi.spyOn(process.stdout, "write").mockImplementation(capture);
  vi.spyOn(process.stderr, "write").mockImplementation(capture);
  if (options.console) {
    for (const m of ["log", "info", "warn", "error", "debug"] as const) vi.spyOn(console, m).mockImplementation((...args: unknown[]) => void output.push(args.map(String).join(" ")));
  }
  return output;
}
