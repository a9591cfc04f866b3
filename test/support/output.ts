import { vi } from "vitest";

/**
 * Keeps what the code under test writes to process.stdout and process.stderr (and, with
 * `console: true`, through console's methods) in the returned array, so a test can check that no
 * secret leaks into logs; printed as well with `echo: true`. Call it in beforeEach; vi.restoreAllMocks() ends it.
 */
export function captureOutput(options: { readonly console?: boolean; readonly echo?: boolean } = {}): string[] {
  const output: string[] = [];
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream);
    vi.spyOn(stream, "write").mockImplementation((chunk: string | Uint8Array, ...rest: unknown[]) => {
      output.push(String(chunk));
      return options.echo ? write(chunk as string, ...(rest as [])) : true;
    });
  }
  if (options.console) {
    for (const m of ["log", "info", "warn", "error", "debug"] as const) vi.spyOn(console, m).mockImplementation((...args: unknown[]) => void output.push(args.map(String).join(" ")));
  }
  return output;
}
