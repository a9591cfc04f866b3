export * from "./registry/challenge.js";
export * from "./registry/verifier.js";
