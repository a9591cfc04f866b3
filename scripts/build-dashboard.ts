import { writeFile } from "node:fs/promises";
import { relative } from "node:path";
import { buildDashboardAssets, GENERATED_PATH, generatedModule } from "../packages/dashboard/src/build.js";

/** npm run build:dashboard: bundles the dashboard and writes packages/dashboard/src/generated/assets.ts (committed). */
const assets = await buildDashboardAssets();
await writeFile(GENERATED_PATH, generatedModule(assets));
console.log(`${relative(process.cwd(), GENERATED_PATH)}: page ${Buffer.byteLength(assets.html)} bytes, script ${Buffer.byteLength(assets.script)} bytes`);
