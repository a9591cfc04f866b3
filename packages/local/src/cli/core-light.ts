/**
 * What the CLI's commands take from @pullkeeper/core when they start, file by file. Core's index
 * also exports the config schema, which loads zod and yaml (a fifth of a second): the CLI build
 * (scripts/build-cli.mjs) resolves the CLI modules' static `@pullkeeper/core` imports to this file,
 * so `status` and `--help` do not pay for them. A command that needs more imports core with
 * `await import("@pullkeeper/core")`. The same source files as core's index: one InvalidInputError
 * class, so `instanceof` holds across the two. A name missing here fails the build, not the user.
 */
export { InvalidInputError, NotFoundError, PullkeeperError } from "../../../core/src/model/errors.js";
export { VERDICTS } from "../../../core/src/model/verdict.js";
