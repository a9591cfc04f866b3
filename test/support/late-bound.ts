/**
 * A value a hook sets (beforeAll, beforeEach) that a test file can name at its top: `view` reads
 * the fields of the value set last, and throws, naming `what`, when read before any was set.
 */
export function lateBound<T extends object>(what: string): { set(value: T): void; readonly view: T } {
  let current: T | undefined;
  const view = new Proxy({} as T, {
    get(_target, key) {
      if (current === undefined) throw new Error(`${what}: read it inside a test or hook, after the hook that sets it`);
      return Reflect.get(current, key);
    },
  });
  return {
    set: (value) => {
      current = value;
    },
    view,
  };
}
