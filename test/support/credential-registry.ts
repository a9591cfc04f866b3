import { type RegistryLogin, startRegistry } from "./registry.js";

/**
 * A real Debian `docker-registry` behind which a provider stand-in puts the credentials it mints:
 * each minted credential becomes an htpasswd user (`install`), each revoked one stops being one
 * (`remove`), so "the new credential opens the registry" and "the revoked one no longer does" are
 * checked by the registry itself, not by the stand-in's word.
 *
 * Changes are made one at a time, in the order they were asked for, whatever the concurrency of
 * the callers; each rewrites the htpasswd file through startRegistry's writer (a temp file renamed
 * over the old one, so the file is never missing, with an mtime strictly later than the previous
 * one, since the registry re-reads the file only when its mtime changes). A change is visible to
 * the registry once its promise resolves.
 *
 * htpasswd holds one password per user: a provider whose credentials share a username (several
 * tokens of one account) has to install each under a username of its own.
 */
export interface CredentialRegistry {
  /** http://127.0.0.1:<port> */
  readonly url: string;
  /** 127.0.0.1:<port> */
  readonly host: string;
  /** Adds the user, or replaces its password. */
  install(username: string, password: string): Promise<void>;
  /** Removes the user; removing one that is not there changes nothing. */
  remove(username: string): Promise<void>;
  /** The users the registry accepts once the changes asked for so far are written, sorted. */
  users(): Promise<string[]>;
  /** The status GET /v2/ answers with this Basic login: 200 when it opens the registry, 401 otherwise. */
  basic(username: string, password: string): Promise<number>;
  /** Pushes a one-layer image with this login; returns the manifest digest. Throws if the registry refuses it. */
  pushImage(repository: string, tag: string, login: RegistryLogin): Promise<string>;
  stop(): Promise<void>;
}

/** Starts the registry with no user at all. */
export async function startCredentialRegistry(): Promise<CredentialRegistry> {
  const registry = await startRegistry({});
  const users = new Map<string, string>();
  let queue: Promise<unknown> = Promise.resolve();

  /** Runs `mutate` and writes the result after every change asked for before it, even failed ones. */
  const change = (mutate: (next: Map<string, string>) => void): Promise<void> => {
    const run = queue.then(async () => {
      const next = new Map(users);
      mutate(next);
      await registry.setUsers(Object.fromEntries(next));
      users.clear();
      for (const [k, v] of next) users.set(k, v);
    });
    queue = run.catch(() => undefined);
    return run;
  };

  return {
    url: registry.url,
    host: registry.host,
    install: (username, password) => {
      // A colon ends the username in an htpasswd line; a newline would start another entry.
      if (username === "" || /[:\r\n]/.test(username) || /[\r\n]/.test(password)) {
        return Promise.reject(new Error("an htpasswd username is non-empty without ':' or a line break, and a password has no line break"));
      }
      return change((next) => next.set(username, password));
    },
    remove: (username) => change((next) => next.delete(username)),
    users: async () => {
      await queue;
      return [...users.keys()].sort();
    },
    basic: async (username, password) => {
      const response = await fetch(`${registry.url}/v2/`, { headers: { authorization: `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}` } });
      await response.body?.cancel();
      return response.status;
    },
    pushImage: (repository, tag, login) => registry.pushImage(repository, tag, login),
    stop: async () => {
      await queue;
      await registry.stop();
    },
  };
}
