// The vitest suite under Node 22, the major the Lambda functions run on (nodejs22.x,
// stacks/lambda.ts); `npm test` ends with it, so the suite passes on both majors package.json's
// `engines` names. Node 22 comes from npm's `node` package (`npx -y node@22`: a registry package
// that ships the binary, cached by npx after the first run); its bin directory is first on PATH,
// so the `node` the tests spawn is Node 22 as well. Extra arguments go to `vitest run`:
//   npm run test:node22 -- test/functions/rotate.test.ts
import { spawnSync } from "node:child_process";
import process from "node:process";

const LAMBDA_MAJOR = 22;
const args = process.argv.slice(2);
const vitest = "node_modules/vitest/vitest.mjs";

const alreadyThere = Number(process.versions.node.split(".")[0]) === LAMBDA_MAJOR;
const [command, commandArgs] = alreadyThere ? [process.execPath, [vitest, "run", ...args]] : ["npx", ["-y", `node@${LAMBDA_MAJOR}`, vitest, "run", ...args]];
process.stdout.write(`test:node22: vitest under Node ${LAMBDA_MAJOR} (${alreadyThere ? `this node, ${process.version}` : `npx -y node@${LAMBDA_MAJOR}`})\n`);
const result = spawnSync(command, commandArgs, { stdio: "inherit" });
if (result.error) {
  process.stderr.write(`test:node22: could not start ${command}: ${result.error.message}\n`);
  process.exit(1);
}
process.exit(result.status ?? 1);
