export * from "./verifier/challenge.js";
export * from "./verifier/verifier.js";
export * from "./htpasswd/htpasswd-file.js";
export * from "./htpasswd/random-passwords.js";
export * from "./provider-http.js";
