import { InvalidInputError } from "@pullkeeper/core";
import { type Command, Option } from "commander";
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { requestJson } from "../local-http.js";
import { DEFAULT_PORT, findRunningRuntime, stateHolder } from "../runtime-file.js";
import type { CommandContext } from "./audit-commands.js";
import { table } from "./format.js";

/**
 * `secret put` and `secret list`: the embedded vault's secrets (Secrets Manager's stand-in) without
 * writing a file by hand. A value never comes from argv (it would land in shell history and in
 * `ps`), never appears in output, and an error never quotes it.
 *
 * With a runtime running for the state directory, `put` goes through it (PUT /local/v1/secrets/{name},
 * admin token, 127.0.0.1): the runtime is then the vault's only writer — the vault serializes writes
 * within one process, not across processes, so a direct write could lose a rotation's — and it
 * announces the write as Secrets Manager's PutSecretValue, so a registry's consumers get the value
 * at once. Writing the file and letting the runtime notice would need a watcher that cannot tell our
 * write from its own, and would race rotations. With no runtime, `put` writes the vault directly;
 * `dev` delivers it when it starts (its reconcile runs at start). `list` only reads, which is safe
 * alongside a running runtime (every write is a rename).
 */

interface Globals {
  config: string;
  stateDir: string;
}

interface PutOptions {
  username?: string;
  passwordStdin?: boolean;
  valueStdin?: boolean;
  fromFile?: string;
}

/** Stored as the username of a token secret: targets read only the password field of those. */
export const TOKEN_USERNAME = "token";
const MAX_VALUE_BYTES = 64 * 1024;

function fallbackPort(): number {
  const raw = process.env.PULLKEEPER_PORT;
  if (raw === undefined) return DEFAULT_PORT;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > 65535) throw new InvalidInputError(`PULLKEEPER_PORT: expected a port number, got ${JSON.stringify(raw)}`);
  return value;
}

/**
 * A registry pullkeeper mints or rotates owns its secret: a value put there would not be the one
 * the htpasswd file or ECR knows, and consumers would get a login that does not open the registry.
 * Without a readable config there is nothing to check against (`dev` would not start either).
 */
async function refuseOwnedSecret(configPath: string, name: string): Promise<void> {
  let text: string;
  try {
    text = await readFile(resolve(configPath), "utf8");
  } catch {
    return;
  }
  const { parseConfig, sameSecret, sourceCapabilities } = await import("@pullkeeper/core");
  let registries;
  try {
    registries = parseConfig(text, configPath).registries;
  } catch {
    return;
  }
  const owner = registries.find((r) => sameSecret(r.secret, name) && !sourceCapabilities(r).managedElsewhere);
  if (owner === undefined) return;
  const does = sourceCapabilities(owner).mints ? "mints" : "rotates";
  throw new InvalidInputError(`secret ${name} is registry ${owner.id}'s, whose login pullkeeper ${does} (source ${owner.source.type}): a value put there would not open the registry. For a new login now: pullkeeper refresh --registry ${owner.id}`);
}

/** Exactly one value source, and --username where it means something; checked before any read. */
function checkPutOptions(opts: PutOptions): { source: "stdin" | "file"; kind: "login" | "token"; what: string } {
  const sources = [opts.passwordStdin && "--password-stdin", opts.valueStdin && "--value-stdin", opts.fromFile !== undefined && "--from-file"].filter((s): s is string => typeof s === "string");
  if (sources.length === 0) throw new InvalidInputError("secret put needs the value from --password-stdin (with --username), --value-stdin or --from-file PATH; it never takes it as an argument");
  if (sources.length > 1) throw new InvalidInputError(`secret put takes the value from one place, got ${sources.join(" and ")}`);
  if (opts.username !== undefined && opts.username.trim() === "") throw new InvalidInputError("--username must not be empty");
  if (opts.passwordStdin && opts.username === undefined) throw new InvalidInputError("--password-stdin stores a registry login: give its user with --username");
  if (opts.valueStdin && opts.username !== undefined) throw new InvalidInputError("--value-stdin stores a token or key without a user; for a registry login use --username with --password-stdin");
  const kind = opts.username === undefined ? "token" : "login";
  return opts.fromFile !== undefined ? { source: "file", kind, what: `the file ${opts.fromFile}` } : { source: "stdin", kind, what: "stdin" };
}

async function readStdin(flag: string): Promise<Buffer> {
  if (process.stdin.isTTY) {
    throw new InvalidInputError(`${flag} reads the value from a pipe, not from a terminal: e.g. printf '%s' "$VALUE" | pullkeeper secret put NAME ${flag}, or use --from-file PATH`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_VALUE_BYTES) throw new InvalidInputError(`stdin holds more than ${MAX_VALUE_BYTES} bytes; a secret's value is a password, token or key`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** One line, its final newline dropped (echo and files add one); the message never quotes it. */
function valueOf(bytes: Buffer, what: string): string {
  if (bytes.length > MAX_VALUE_BYTES) throw new InvalidInputError(`${what} holds more than ${MAX_VALUE_BYTES} bytes; a secret's value is a password, token or key`);
  const text = bytes.toString("utf8").replace(/\r?\n$/, "");
  if (text === "") throw new InvalidInputError(`${what} is empty: nothing to store`);
  if (/[\r\n]/.test(text)) throw new InvalidInputError(`${what} holds more than one line; a secret's value is one line (a password, token or key)`);
  return text;
}

interface PutAnswer {
  name: string;
  arn: string;
  versionId: string;
  created: boolean;
  propagation?: { propagated?: boolean; requested?: number; reason?: string };
}

export function addSecretCommands(program: Command, ctx: CommandContext): void {
  const secret = program.command("secret").description("the embedded vault's secrets (Secrets Manager's stand-in): registry logins, tokens, signing keys");

  secret
    .command("put")
    .description("store a new value of a secret (created if needed) as its AWSCURRENT version; the value is read from stdin or a file, never from the command line")
    .argument("<name>", "the secret's name, as the config names it (registries[].secret, tokenSecret, signingSecret)")
    .option("--username <user>", "a registry login's user (with --password-stdin or --from-file)")
    .option("--password-stdin", "read a registry login's password from stdin (needs --username)")
    .option("--value-stdin", "read a token or key from stdin (a GitHub or Gitpod token, a webhook signing key)")
    .addOption(new Option("--from-file <path>", "read the value from a file instead: a password with --username, a token or key without"))
    .allowExcessArguments(false)
    .action(async (name: string, opts: PutOptions, cmd: Command) => {
      const { config, stateDir } = cmd.optsWithGlobals<Globals>();
      const mode = checkPutOptions(opts);
      const { checkSecretName } = await import("../vault/local-vault.js");
      checkSecretName(name);
      await refuseOwnedSecret(config, name);
      let bytes: Buffer;
      if (mode.source === "file") {
        try {
          bytes = await readFile(resolve(opts.fromFile as string));
        } catch (error) {
          throw new InvalidInputError(`cannot read ${opts.fromFile}: ${(error as NodeJS.ErrnoException).code ?? "unreadable"}`);
        }
      } else {
        bytes = await readStdin(opts.passwordStdin ? "--password-stdin" : "--value-stdin");
      }
      const value = valueOf(bytes, mode.what);
      bytes.fill(0);
      const username = mode.kind === "login" ? (opts.username as string) : TOKEN_USERNAME;

      const running = await findRunningRuntime(stateDir, fallbackPort());
      let answer: PutAnswer;
      let where: string;
      if (running !== undefined) {
        const response = await requestJson("PUT", `${running.url}/local/v1/secrets/${encodeURIComponent(name)}`, {
          headers: { authorization: `Bearer ${running.adminToken}`, "content-type": "application/json" },
          body: JSON.stringify({ username, password: value }),
        });
        const body = (response.body ?? {}) as Partial<PutAnswer> & { message?: string };
        if (response.status === 404) throw new Error(`the runtime at ${running.url} does not take secret writes (it predates them): restart it, then run this again`);
        if (response.status !== 200) throw new Error(body.message ?? `the runtime at ${running.url} answered HTTP ${response.status}`);
        answer = body as PutAnswer;
        where = `through the runtime at ${running.url}`;
      } else {
        const [{ credential }, { LocalVault }, { putSecret }, { ensureStateDir }] = await Promise.all([import("@pullkeeper/core"), import("../vault/local-vault.js"), import("../local-secrets.js"), import("../state-files.js")]);
        const dir = resolve(stateDir);
        // A runtime that is starting, busy or stuck still writes the vault: never write behind its back.
        const holder = await stateHolder(dir);
        if (holder !== undefined) throw new Error(`process ${holder} holds ${dir} (a pullkeeper runtime or command) but nothing answers for it over HTTP; wait until it has started or finished, or stop it, then run this again. Nothing was written`);
        await ensureStateDir(dir);
        answer = await putSecret(new LocalVault({ dir: join(dir, "vault") }), name, credential(username, value));
        where = `in ${join(dir, "vault")}`;
      }

      if (ctx.json(cmd)) return ctx.out(JSON.stringify({ ...answer, through: running !== undefined ? "runtime" : "vault" }));
      ctx.out(`secret ${answer.name}: ${answer.created ? "created; " : ""}version ${answer.versionId} is AWSCURRENT (${mode.kind === "login" ? `login of ${username}` : "token"}), ${where}`);
      const p = answer.propagation;
      if (running === undefined) ctx.out("no runtime is running for this state directory: `pullkeeper dev` delivers it to the registry's consumers when it starts");
      else if (p?.propagated) ctx.out(`delivering it to the registry's consumers: ${p.requested ?? 0} deliveries requested`);
      else if (p?.reason) ctx.out(`nothing to deliver: ${p.reason}`);
    });

  secret
    .command("list")
    .description("each secret's versions: version id, staging labels, created; never a value")
    .action(async (_opts, cmd: Command) => {
      const { stateDir } = cmd.optsWithGlobals<Globals>();
      const { LocalVault } = await import("../vault/local-vault.js");
      const dir = join(resolve(stateDir), "vault");
      const secrets = await new LocalVault({ dir }).list();
      if (ctx.json(cmd)) return ctx.out(JSON.stringify(secrets));
      if (secrets.length === 0) return ctx.out(`no secrets in ${dir}`);
      ctx.out(
        table(
          ["secret", "version", "stages", "created"],
          secrets.flatMap((s) => [...s.versions].reverse().map((v) => [s.name, v.versionId, v.stages.join(", ") || "—", `${v.createdAt}${v.hasValue ? "" : " (no value yet)"}`])),
        ),
      );
    });
}
