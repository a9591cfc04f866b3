import path from "node:path";
import { loadDeployConfig, shippedConfig } from "../../stacks/config.js";
import { REPO_ROOT, type SstRun } from "./sst-harness.js";

/**
 * What a run of the stacks ships to every function for `fixture` (a path in the repo): the
 * `copyFiles` entry SST builds with (the checked document as JSON, under the run's work directory)
 * and the JSON it copies in as pullkeeper.json.
 */
export function shippedConfigOf(run: Pick<SstRun, "workDir">, fixture: string) {
  const { name, json } = shippedConfig(loadDeployConfig({ PULLKEEPER_CONFIG: fixture }, REPO_ROOT));
  return { copyFile: { from: path.join(run.workDir, "pullkeeper", name), to: "pullkeeper.json", isDir: false }, json };
}
