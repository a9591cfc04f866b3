import { credential } from "../../model/credential.js";
import type { CredentialIssuer, CredentialRevoker, PasswordGenerator, RegistryAccounts } from "../../model/ports.js";
import type { SourceRuntime } from "../../model/source-module.js";
import type { HtpasswdSource } from "./source.js";

/**
 * An htpasswd registry alternates two users: the idle one gets a freshly generated password,
 * written to the file in setSecret (so a retried step writes the same staged password again).
 */
export function htpasswdIssuer(users: readonly [string, string], passwords: PasswordGenerator, accounts: RegistryAccounts): CredentialIssuer {
  return {
    slots: users,
    issue: async ({ slot }) => credential(slot ?? users[0], passwords.generate().reveal()),
    install: (next) => accounts.setPassword(next.username, next.password),
  };
}

/** An htpasswd registry revokes by retiring the previous user (never the current one's). */
export function htpasswdRevoker(accounts: RegistryAccounts): CredentialRevoker {
  return {
    revoke: async (previous, current) => {
      if (previous.credential.username !== current.credential.username) await accounts.retire(previous.credential.username);
    },
  };
}

/** The htpasswd source's runtime: its registry's file (`source.file`) through the `accounts` port. */
const runtime: SourceRuntime = {
  issuer: (registry, ports) => {
    const source = registry.source as HtpasswdSource;
    return htpasswdIssuer(source.users, ports.passwords, ports.accounts(source.file));
  },
  revoker: (registry, ports) => htpasswdRevoker(ports.accounts((registry.source as HtpasswdSource).file)),
};
export default runtime;
