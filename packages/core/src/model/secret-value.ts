const REDACTED = "[REDACTED]";
// The symbol util.inspect looks for; named through the registry so core imports nothing from node.
const inspectCustom = Symbol.for("nodejs.util.inspect.custom");

/**
 * A credential value that cannot leak by accident: JSON, string conversion and
 * util.inspect all print "[REDACTED]". Only `reveal()` hands out the value, so every
 * place that does is a place a reviewer can find with grep.
 */
export class SecretValue {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  equals(other: SecretValue): boolean {
    return this.#value === other.#value;
  }

  get length(): number {
    return this.#value.length;
  }

  toJSON(): string {
    return REDACTED;
  }

  toString(): string {
    return REDACTED;
  }

  [inspectCustom](): string {
    return REDACTED;
  }
}
