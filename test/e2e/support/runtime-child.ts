import { EmbeddedRuntime } from "../../../packages/local/src/runtime.js";

/**
 * The embedded runtime in a child process, for tests that kill it for real. Argument 3, if
 * given, names a rotation step after which the process SIGKILLs itself, mid-rotation.
 */
const [stateDir, configPath, crashAfter] = process.argv.slice(2) as [string, string, string | undefined];
await EmbeddedRuntime.start({
  configPath,
  stateDir,
  port: 0,
  htpasswdCost: 4,
  log: (line) => process.stderr.write(`${line}\n`),
  afterRotationStep: (step) => {
    if (step === crashAfter) {
      process.stderr.write(`crashing after ${step}\n`);
      process.kill(process.pid, "SIGKILL");
    }
  },
});
process.stderr.write("runtime started\n");
