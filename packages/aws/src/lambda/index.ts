export * from "./config-file.js";
export * from "./observability.js";
export * from "./redaction.js";
