import { LineCounter, parseDocument } from "yaml";
import { type AheadCheck, type CheckedConfig, checkDocument, type PullkeeperConfig } from "./config-document.js";
import type { ConfigIssue } from "./config-issues.js";
import { ConfigError } from "./config-issues.js";
import { locateIssues } from "./config-locate.js";
import type { TargetSchemas } from "../model/consumers.js";
import type { Consumer } from "../propagation/delivery.js";
import { InvalidInputError } from "../model/errors.js";


/**
 * `pullkeeper.yaml`: the registries pullkeeper keeps fresh and the consumers that copy them.
 * Every problem is reported with its path in the file (and its line and column when the text is
 * known), all at once, not only the first; unknown keys everywhere, with the nearest known key.
 */

/**
 * THE check of a config file, shared by `pullkeeper validate`, `pullkeeper dev` and the deploy:
 * the YAML, the document (unknown keys everywhere), the references between entries and every
 * consumer's target with its kind's schema from `targets`; and with `ahead` (scheduleIssues, as
 * those three pass it, not the Lambdas) the checks that take a schedule's runs. Throws a ConfigError whose issues
 * read `<file>:<line>:<column> <path>: <problem>`, all of them at once.
 */
export function checkConfigFile(text: string, file: string, targets: TargetSchemas, ahead?: AheadCheck): CheckedConfig {
  const { config, consumers, document } = checkText(text, file, targets, ahead);
  return { config, consumers: consumers ?? [], document };
}

/** Parses and validates the YAML text of a config file, without the consumers' targets (checkConfigFile checks those too). */
export function parseConfig(text: string, source = "pullkeeper.yaml", ahead?: AheadCheck): PullkeeperConfig {
  return checkText(text, source, undefined, ahead).config;
}

function checkText(text: string, file: string, targets?: TargetSchemas, ahead?: AheadCheck): { config: PullkeeperConfig; consumers?: Consumer[]; document: unknown } {
  const lines = new LineCounter();
  const doc = parseYaml(text, file, lines);
  if (doc.errors.length > 0) {
    // The first errors only: the parser's later ones mostly echo the first (a bad indent or
    // bracket turns every later token into an "unexpected" one).
    const located: ConfigIssue[] = doc.errors.slice(0, 3).map((e) => ({ path: [], message: (e.message.split("\n")[0] ?? e.code).replace(/ at line \d+, column \d+:?$/, ""), line: e.linePos?.[0]?.line ?? 1, column: e.linePos?.[0]?.col ?? 1 }));
    const issues = located.map((issue) => `${file}:${issue.line}:${issue.column} ${issue.message}`);
    throw new InvalidInputError(`${file} is not valid YAML:\n  ${issues.join("\n  ")}`, issues);
  }
  let value: unknown;
  try {
    value = doc.toJS();
  } catch (error) {
    // yaml refuses a document whose aliases would expand past its limit (100): a resource-exhaustion guard.
    const why = error instanceof ReferenceError && /alias/i.test(error.message) ? "uses more than 100 YAML aliases (*name), which could expand without bound; write the values out" : "could not be read as YAML";
    throw new InvalidInputError(`${file} ${why}`);
  }
  const { issues, config, consumers } = checkDocument(value, targets);
  if (config !== undefined && issues.length === 0 && ahead) issues.push(...ahead(config));
  if (config === undefined || issues.length > 0) throw new ConfigError(file, locateIssues(issues, doc, lines));
  return { config, document: value, ...(consumers && { consumers }) };
}

/** yaml's parser recurses per nesting level: a few KB of nesting overflow the stack, a RangeError that must not escape as a crash. */
function parseYaml(text: string, file: string, lines: LineCounter): ReturnType<typeof parseDocument> {
  try {
    return parseDocument(text, { prettyErrors: true, lineCounter: lines });
  } catch (error) {
    if (error instanceof RangeError) throw new InvalidInputError(`${file} is nested too deeply to read as YAML`);
    throw error;
  }
}

