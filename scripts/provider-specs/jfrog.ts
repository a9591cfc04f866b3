/** JFrog's access-token operations, written by hand (JFrog publishes no machine-readable description). */
import type { JsonObject } from "./json.js";

export function jfrogSpec(): JsonObject {
  const bearer = [{ bearerAuth: [] }];
  const tokenPath = "/access/api/v1/tokens";
  const idParam = { in: "path", name: "token_id", required: true, schema: { type: "string" } };
  return {
    origin: {
      handWritten: true,
      from: "jfrog/access-tokens.md, notes on JFrog's Access Tokens REST API pages (docs.jfrog.com/administration/reference/createtoken and jfrog.com/help/r/jfrog-rest-apis/…); no OpenAPI description is published",
      format: "hand-written, same shape as the extracted OpenAPI operations",
      basePath: "",
      notes: ["copied facts: test/fixtures/provider-specs/jfrog.md", "create takes application/x-www-form-urlencoded or JSON", "whether a refresh invalidates the previous access token is not documented"],
    },
    basePath: "",
    securitySchemes: { bearerAuth: { type: "http", scheme: "bearer" } },
    operations: {
      [`POST ${tokenPath}`]: {
        method: "POST",
        path: tokenPath,
        operationId: "createToken",
        parameters: [],
        requestBody: { contentTypes: ["application/json", "application/x-www-form-urlencoded"], required: false, schema: { $ref: "#/definitions/CreateTokenRequest" } },
        responses: { "200": { schema: { $ref: "#/definitions/CreateTokenResponse" } } },
        security: bearer,
      },
      [`GET ${tokenPath}`]: {
        method: "GET",
        path: tokenPath,
        operationId: "getTokens",
        parameters: ([
          ["description", { type: "string" }],
          ["username", { type: "string" }],
          ["refreshable", { type: "boolean" }],
          ["token_id", { type: "string" }],
          ["order_by", { type: "string", enum: ["created", "token_id", "owner", "subject", "expiry"] }],
          ["descending_order", { type: "boolean" }],
          ["scope", { type: "string" }],
        ] as [string, JsonObject][]).map(([name, schema]) => ({ in: "query", name, required: false, schema })),
        responses: { "200": { schema: { type: "object", required: ["tokens"], properties: { tokens: { type: "array", items: { $ref: "#/definitions/TokenInfo" } } } } } },
        security: bearer,
      },
      [`GET ${tokenPath}/{token_id}`]: {
        method: "GET",
        path: `${tokenPath}/{token_id}`,
        operationId: "getTokenById",
        parameters: [idParam],
        responses: { "200": { schema: { $ref: "#/definitions/TokenInfo" } } },
        security: bearer,
      },
      [`DELETE ${tokenPath}/{token_id}`]: {
        method: "DELETE",
        path: `${tokenPath}/{token_id}`,
        operationId: "revokeTokenById",
        parameters: [idParam],
        responses: { "200": {}, "204": {} },
        security: bearer,
      },
    },
    definitions: {
      CreateTokenRequest: {
        type: "object",
        properties: {
          grant_type: { type: "string", enum: ["client_credentials", "refresh_token"] },
          username: { type: "string", maxLength: 255 },
          scope: { type: "string", maxLength: 500 },
          expires_in: { type: "integer", minimum: 0 },
          refreshable: { type: "boolean" },
          description: { type: "string", maxLength: 1024 },
          audience: { type: "string", maxLength: 255 },
          include_reference_token: { type: "boolean" },
          force_revocable: { type: "boolean" },
          project_key: { type: "string" },
          refresh_token: { type: "string" },
        },
      },
      CreateTokenResponse: {
        type: "object",
        required: ["token_id", "access_token", "token_type"],
        properties: {
          token_id: { type: "string" },
          access_token: { type: "string" },
          refresh_token: { type: "string" },
          expires_in: { type: "integer" },
          scope: { type: "string" },
          token_type: { type: "string" },
          reference_token: { type: "string" },
          description: { type: "string" },
        },
      },
      TokenInfo: {
        type: "object",
        required: ["token_id", "subject"],
        properties: {
          token_id: { type: "string" },
          subject: { type: "string" },
          expiry: { type: "integer" },
          issued_at: { type: "integer" },
          issuer: { type: "string" },
          description: { type: "string" },
          refreshable: { type: "boolean" },
          last_used: { type: "integer" },
        },
      },
    },
  };
}
