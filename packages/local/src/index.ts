export * from "./vault/local-vault.js";
export * from "./dynamo/embedded-dynamo.js";
