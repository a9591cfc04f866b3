import type { DashboardAssets } from "@pullkeeper/api";
import { html, script } from "./generated/assets.js";

/** The dashboard's page and bundled script, for the audit API to serve at / and /dashboard.js. */
export const dashboardAssets: DashboardAssets = { html, script };
