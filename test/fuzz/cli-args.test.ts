import { InvalidInputError } from "@pullkeeper/core";
import { type Command, CommanderError } from "commander";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { buildCli } from "../../packages/local/src/cli/main.js";
import { mutatedText, oddString } from "./mutate.js";
import { check, describe as describeError } from "./outcomes.js";
import { FUZZ_TIMEOUT_MS, fuzzAsync } from "./settings.js";

/**
 * The CLI's arguments through commander in-process (packages/local/src/cli/main.ts's buildCli, the
 * program `pullkeeper` runs): every command's action is replaced by one that records what was
 * parsed, so nothing connects or starts; exitOverride turns commander's exits into errors. Allowed:
 * a parsed command, or the CLI's own usage error (commander's, or an InvalidInputError from an
 * option's parser) — never another exception, and never a stack trace in what it printed.
 */

interface Parsed {
  readonly command: string;
  readonly args: unknown[];
}

interface Cli {
  readonly program: Command;
  readonly printed: string[];
  parsed?: Parsed | undefined;
}

/** Read through a call: the action sets it during parseAsync, which the compiler cannot see. */
const parsedBy = (state: Cli): Parsed | undefined => state.parsed;

function commands(root: Command): Command[] {
  return [root, ...root.commands.flatMap(commands)];
}

function cli(): Cli {
  const program = buildCli();
  const state: Cli = { program, printed: [] };
  for (const cmd of commands(program)) {
    cmd.exitOverride();
    cmd.configureOutput({ writeOut: (s) => state.printed.push(s), writeErr: (s) => state.printed.push(s), outputError: (s) => state.printed.push(s) });
    // Only commands that run something: a group without an action shows its help instead.
    if ((cmd as unknown as { _actionHandler: unknown })._actionHandler) {
      const name = commands(program).includes(cmd.parent as Command) && cmd.parent !== program ? `${cmd.parent?.name()} ${cmd.name()}` : cmd.name();
      cmd.action((...args: unknown[]) => {
        state.parsed = { command: name, args: args.slice(0, -1) };
      });
    }
  }
  return state;
}

const template = cli().program;
const NAMES = commands(template).filter((c) => c !== template).map((c) => c.name());
const FLAGS = commands(template).flatMap((c) => c.options.flatMap((o) => [o.long, o.short].filter((f): f is string => f !== undefined)));
const SEEDS = [
  "status", "status --json", "refresh -r prod-ecr --force", "history prod-ecr -n 10", "history prod-ecr --limit=100", "audit --verdict stale -r prod-ecr --scan", "consumers --state failed",
  "propagate -r prod-ecr --timeout 30", "rollback -r harbor", "versions prod-ecr", "secret put pullkeeper/hub --username me --password-stdin", "secret list", "validate pullkeeper.yaml",
  "--config x.yaml --state-dir .pk status", "dev --log-format json --no-watch", "help history", "--help", "audit --help",
].map((line) => line.split(" "));

const token = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...NAMES, ...FLAGS) },
  { weight: 2, arbitrary: fc.constantFrom("--", "-", "--json", "-n", "0", "101", "-1", "1e3", "NaN", "stale", "bogus", "prod-ecr", "=", "--limit=", "--timeout=-5", "--verdict=", "-rprod-ecr", "-fr", "--no-json", "--no-watch=1", "help") },
  { weight: 1, arbitrary: oddString },
  { weight: 1, arbitrary: fc.constantFrom(...FLAGS).chain((f) => oddString.map((v) => `${f}=${v}`)) },
);
const argvs = fc.oneof(
  fc.array(token, { maxLength: 8 }),
  fc.tuple(fc.constantFrom(...SEEDS), fc.array(token, { maxLength: 3 }), fc.nat()).map(([seed, extra, at]) => [...seed.slice(0, at % (seed.length + 1)), ...extra, ...seed.slice(at % (seed.length + 1))]),
  fc.constantFrom(...SEEDS).chain((seed) => mutatedText([seed.join(" ")], 2_000).map((line) => line.split(" "))),
);

describe("fuzz: the CLI's arguments", () => {
  it("parses what the docs show", async () => {
    const state = cli();
    await state.program.parseAsync(["history", "prod-ecr", "-n", "10"], { from: "user" });
    expect(state.parsed).toMatchObject({ command: "history", args: ["prod-ecr", expect.objectContaining({ limit: 10 })] });
  });

  it("yields a parsed command or the CLI's own usage error, with no stack trace printed", async () => {
    // One program for every input: commander restores its state before each parse.
    const state = cli();
    await fuzzAsync(argvs, async (argv) => {
      state.printed.length = 0;
      state.parsed = undefined;
      try {
        await state.program.parseAsync(argv, { from: "user" });
        check(state.parsed !== undefined || state.printed.length > 0, `nothing parsed and nothing said for ${JSON.stringify(argv)}`);
        const parsed = parsedBy(state);
        if (parsed) check(NAMES.some((n) => parsed.command === n || parsed.command.endsWith(` ${n}`)), `parsed as ${parsed.command}`);
      } catch (error) {
        const usage = error instanceof CommanderError || error instanceof InvalidInputError;
        check(usage, `${JSON.stringify(argv)}: ${describeError(error)}`);
      }
      const printed = state.printed.join("");
      check(!/\n\s+at \S+ \(|\.(?:ts|js):\d+:\d+/.test(printed), `a stack trace was printed for ${JSON.stringify(argv)}: ${printed.slice(0, 400)}`);
    });
  }, FUZZ_TIMEOUT_MS);
});
