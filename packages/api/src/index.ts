export * from "./audit-api.js";
