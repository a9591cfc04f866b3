/**
 * Errors the domain names. `code` is stable (scripts and the API match on it); `message`
 * is for people and never holds a credential value.
 */
export class PullkeeperError extends Error {
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A config file, event or request that does not have the expected shape. */
export class InvalidInputError extends PullkeeperError {
  constructor(
    message: string,
    readonly issues: readonly string[] = [],
  ) {
    super("invalid_input", message);
  }
}

/** A secret whose value is not a `{"username","password"}` JSON document. */
export class InvalidCredentialError extends PullkeeperError {
  constructor(secretId: string, reason: string) {
    super("invalid_credential", `secret ${secretId} ${reason}`);
  }
}

export class NotFoundError extends PullkeeperError {
  constructor(what: string) {
    super("not_found", `${what} not found`);
  }
}

/** An upstream call failed; `retryable` tells whether trying again may help. */
export class UpstreamError extends PullkeeperError {
  constructor(
    code: string,
    message: string,
    readonly retryable: boolean,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}

/** The same ClientRequestToken came with another value: a bug upstream, never retried. */
export class RequestTokenConflictError extends PullkeeperError {
  constructor(secretId: string, requestToken: string) {
    super("request_token_conflict", `secret ${secretId}: version ${requestToken} already exists with another value`);
  }
}
