import { EmbeddedRuntime } from "../../../packages/local/src/runtime.js";

/**
 * The embedded runtime in a child process, for tests that kill it for real. Argument 3, if
 * given, names a rotation step after which the process SIGKILLs itself, mid-rotation: `testSecret`
 * at its first occurrence, `finishSecret:2` at its second (between a later rotation's promotion
 * and the previous credential's revocation), `promote:2` inside the second finishSecret, after the
 * vault promoted and before the ledger heard of it. Prints its API's URL once it serves.
 */
const [stateDir, configPath, crashAt] = process.argv.slice(2) as [string, string, string | undefined];
const [crashAfter, nth] = (crashAt ?? "").split(":");
let seen = 0;
function crash(at: string): void {
  if (at !== crashAfter || ++seen < Number(nth ?? 1)) return;
  process.stderr.write(`crashing after ${at}\n`);
  process.kill(process.pid, "SIGKILL");
}
const runtime = await EmbeddedRuntime.start({
  configPath,
  stateDir,
  port: 0,
  htpasswdCost: 4,
  log: (line) => process.stderr.write(`${line}\n`),
  afterRotationStep: (step) => crash(step),
  afterRotationPromote: () => crash("promote"),
});
process.stderr.write(`runtime started ${runtime.server?.url ?? ""}\n`);
