export * from "./registry/challenge.js";
export * from "./registry/verifier.js";
export * from "./htpasswd/htpasswd-file.js";
export * from "./htpasswd/random-passwords.js";
