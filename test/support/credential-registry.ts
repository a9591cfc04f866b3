import { type ForwardedRequest, startRegistryFront } from "./credential-registry-front.js";
import { pushImage, type RegistryLogin, startRegistry } from "./registry.js";

export type { ForwardedRequest } from "./credential-registry-front.js";

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
 * htpasswd holds one password per user, but a provider may accept several passwords for one
 * username (Docker Hub: any live token of an account or organization, with its name as the
 * username). `installShared(username, password)` puts each such password under an htpasswd user of
 * its own (`<username>~<n>`), and `url`/`host` are those of an HTTP front (credential-registry-front.ts)
 * that passes every request on to the registry, sending a Basic login that is a shared login as its
 * internal user. The front remembers a shared login after `removeShared`, so the revoked login still
 * reaches the registry as its internal user, whose htpasswd line is gone: the registry refuses it.
 */
export interface CredentialRegistry {
  /** http://127.0.0.1:<port> of the front. */
  readonly url: string;
  /** 127.0.0.1:<port> of the front. */
  readonly host: string;
  /** Adds the user, or replaces its password. A name ending in `~<digits>` is refused: those are the shared logins' internal users. */
  install(username: string, password: string): Promise<void>;
  /** Removes the htpasswd user (a plain one, or a shared login by its internal user); removing one that is not there changes nothing. */
  remove(username: string): Promise<void>;
  /**
   * Adds one more password `username` logs in with, besides any others it has (through the front);
   * returns the internal htpasswd user that holds it (`<username>~<n>`). Installing a login already
   * installed, or installed and removed, keeps its internal user.
   */
  installShared(username: string, password: string): Promise<string>;
  /** Removes exactly that one shared login (its htpasswd user); the username's other passwords keep working. Idempotent. */
  removeShared(username: string, password: string): Promise<void>;
  /** The htpasswd users the registry accepts once the changes asked for so far are written (shared logins by their internal user), sorted. */
  users(): Promise<string[]>;
  /** The status GET /v2/ answers through the front with this Basic login: 200 when it opens the registry, 401 otherwise. */
  basic(username: string, password: string): Promise<number>;
  /** Pushes a one-layer image through the front with this login; returns the manifest digest. Throws if the registry refuses it. */
  pushImage(repository: string, tag: string, login: RegistryLogin): Promise<string>;
  /** Every request the front passed on, in order: method, path, the username the registry saw and its status (never a password). */
  readonly forwarded: readonly ForwardedRequest[];
  /** Stops the front (its port is free once this resolves), then the registry. */
  stop(): Promise<void>;
}

/** A colon ends the username in an htpasswd line; a newline would start another entry. */
function checkLogin(username: string, password: string): Error | undefined {
  if (username === "" || /[:\r\n]/.test(username) || /[\r\n]/.test(password)) {
    return new Error("an htpasswd username is non-empty without ':' or a line break, and a password has no line break");
  }
  return undefined;
}

/** Starts the registry with no user at all, and its front. */
export async function startCredentialRegistry(): Promise<CredentialRegistry> {
  const registry = await startRegistry({});
  const users = new Map<string, string>();
  /** username → password → internal htpasswd user, for every shared login ever installed. */
  const shared = new Map<string, Map<string, string>>();
  let queue: Promise<unknown> = Promise.resolve();

  const front = await startRegistryFront(registry.url, (user, password) => shared.get(user)?.get(password)).catch(async (error: unknown) => {
    await registry.stop();
    throw error;
  });

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
    url: front.url,
    host: front.host,
    forwarded: front.forwarded,
    install: (username, password) => {
      const invalid = checkLogin(username, password) ?? (/~\d+$/.test(username) ? new Error(`a username ending in ~<digits> is a shared login's internal user: install it with installShared`) : undefined);
      if (invalid !== undefined) return Promise.reject(invalid);
      return change((next) => next.set(username, password));
    },
    remove: (username) => change((next) => next.delete(username)),
    installShared: async (username, password) => {
      const invalid = checkLogin(username, password);
      if (invalid !== undefined) throw invalid;
      let logins = shared.get(username);
      if (logins === undefined) shared.set(username, (logins = new Map()));
      // Logins are never forgotten, so the count gives each its own number.
      const internal = logins.get(password) ?? `${username}~${logins.size + 1}`;
      logins.set(password, internal);
      await change((next) => next.set(internal, password));
      return internal;
    },
    removeShared: (username, password) => {
      const internal = shared.get(username)?.get(password);
      if (internal === undefined) return queue.then(() => undefined);
      return change((next) => next.delete(internal));
    },
    users: async () => {
      await queue;
      return [...users.keys()].sort();
    },
    basic: async (username, password) => {
      const response = await fetch(`${front.url}/v2/`, { headers: { authorization: `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}` } });
      await response.body?.cancel();
      return response.status;
    },
    pushImage: (repository, tag, login) => pushImage(front.url, repository, tag, login),
    stop: async () => {
      await queue;
      try {
        await front.stop();
      } finally {
        await registry.stop();
      }
    },
  };
}
