import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["node_modules/", ".sst/", "bench/out/", "packages/local/dist/", "test-output/", "sst-env.d.ts", ".pullkeeper/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "no-console": ["error", { allow: ["warn", "error"] }],
    },
  },
  {
    // The domain stays pure: no I/O, no AWS.
    files: ["packages/core/src/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        { patterns: ["@aws-sdk/*", "node:fs*", "node:http*", "node:net", "fs", "fs/*", "http", "https", "net", "@pullkeeper/aws", "@pullkeeper/targets", "@pullkeeper/registry", "@pullkeeper/api"] },
      ],
    },
  },
  {
    // The registry side stays light: refresh and rotation load it without any target's client.
    files: ["packages/registry/src/**/*.ts"],
    rules: {
      "no-restricted-imports": ["error", { patterns: ["@pullkeeper/targets", "@pullkeeper/aws", "@pullkeeper/local", "@pullkeeper/dashboard"] }],
    },
  },
  {
    // The file helper is a leaf: node builtins only, so every package may use it (the vault, htpasswd, docker config).
    files: ["packages/files/src/**/*.ts"],
    rules: {
      "no-restricted-imports": ["error", { patterns: ["@pullkeeper/*"] }],
    },
  },
  {
    files: ["test/**/*.ts", "bench/**/*.ts", "scripts/**/*.ts", "stacks/**/*.ts", "sst.config.ts", "**/*.test.ts"],
    rules: { "no-console": "off" },
  },
  {
    // SST's generated platform types are loaded the way SST documents: a triple-slash reference.
    files: ["sst.config.ts"],
    rules: { "@typescript-eslint/triple-slash-reference": "off" },
  },
);
