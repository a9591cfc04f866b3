import type { SourceModule, SourceSchema } from "../../model/source-module.js";

/**
 * A source module's schema, probed the way its config tests do: `parse` a block over the source's
 * required keys, or list the `messages` a block is refused with (`path: message`).
 */
export function configProbe<Schema extends SourceSchema>(module: SourceModule<Schema>, required: Readonly<Record<string, unknown>>) {
  const parse = (source: Readonly<Record<string, unknown>>) => module.schema.safeParse({ type: module.type, ...required, ...source });
  const messages = (source: Readonly<Record<string, unknown>>): string[] => {
    const result = parse(source);
    return result.success ? [] : result.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
  };
  return { parse, messages };
}
