export * from "./config-file.js";
export * from "./observability.js";
export * from "./redaction.js";
export * from "./validate-event.js";
export * from "./adapters.js";
export * from "./propagation-runtime.js";
export * from "./consumer-schemas.js";
export * from "./planner-runtime.js";
