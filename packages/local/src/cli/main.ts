import { InvalidInputError } from "@pullkeeper/core";
import { Command, Option } from "commander";
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { DEFAULT_PORT } from "../runtime-file.js";
import { addAuditCommands, type CommandContext } from "./audit-commands.js";
import { addLifecycleCommands } from "./lifecycle-commands.js";
import { addSecretCommands } from "./secret-commands.js";
import { connect } from "./client.js";
import { SingleBar } from "cli-progress";
import { expiresIn, fit, plural, shortId, table, until } from "./format.js";

/** The `pullkeeper` command: tables for people, --json for scripts, non-zero exit on failure. */

interface Globals {
  config: string;
  stateDir: string;
  json: boolean;
}

interface RegistryRow {
  id: string;
  source: string;
  current: { versionId: string; expiresAt: string | null; verification: { status: string; checkedAt: string } } | null;
  previous?: { versionId: string } | null;
  revocation?: { versionId: string; state: string; reason: string } | null;
}

/** The previous version and where its revocation stands, in a table cell. */
function previousCell(r: RegistryRow): string {
  if (!r.previous) return "—";
  const id = shortId(r.previous.versionId);
  if (r.revocation?.versionId !== r.previous.versionId) return `${id} (not checked yet)`;
  return r.revocation.state === "revoked" ? `${id} revoked` : `${id} kept: ${r.revocation.reason}`;
}

const out = (text: string) => process.stdout.write(`${text}\n`);
const err = (text: string) => process.stderr.write(`${text}\n`);

function port(): number {
  const raw = process.env.PULLKEEPER_PORT;
  if (raw === undefined) return DEFAULT_PORT;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > 65535) throw new InvalidInputError(`PULLKEEPER_PORT: expected a port number, got ${JSON.stringify(raw)}`);
  return value;
}

export function buildCli(): Command {
  const program = new Command("pullkeeper")
    .description("Keeps container-registry pull credentials fresh, and tells you who still holds a stale one.")
    .addOption(new Option("-c, --config <path>", "config file").env("PULLKEEPER_CONFIG").default("pullkeeper.yaml"))
    .addOption(new Option("--state-dir <dir>", "where the embedded runtime keeps its state").env("PULLKEEPER_STATE_DIR").default(".pullkeeper"))
    .option("--json", "machine-readable output", false)
    .showHelpAfterError()
    // Every command's --help lists --json, --config and --state-dir too (subcommands inherit this).
    .configureHelp({ showGlobalOptions: true })
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });

  const globals = (cmd: Command): Globals => cmd.optsWithGlobals<Globals>();

  program
    .command("dev")
    .description("run the whole service on this machine: HTTP API on 127.0.0.1, schedules, embedded stores; the config reloads when its file changes and on SIGHUP")
    .addOption(new Option("--log-format <format>", "log lines on stderr: pretty (one line per event) or json (one object per line); default: pretty on a terminal, json otherwise").choices(["pretty", "json"]))
    .option("--metrics", "also print the functions' metrics (CloudWatch EMF JSON on stdout, as on Lambda)", false)
    .option("--no-watch", "reload the config on SIGHUP only, not when its file changes")
    .action(async (opts: { logFormat?: "pretty" | "json"; metrics: boolean; watch: boolean }, cmd: Command) => {
      const g = globals(cmd);
      const format = opts.logFormat ?? (process.stderr.isTTY ? "pretty" : "json");
      // Imported here, not above: every other command must start without dynalite and the AWS SDK.
      const { LOG_FORMAT_ENV, localLogLine } = await import("@pullkeeper/aws/lambda");
      // Set before the runtime (and the functions in it) is imported: Powertools reads them as each function's module loads.
      process.env[LOG_FORMAT_ENV] = format;
      process.env.POWERTOOLS_METRICS_DISABLED = String(!opts.metrics);
      // Eight lines about Node versions the SDK will need next year, at every start: not news in a dev loop.
      process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
      const { EmbeddedRuntime } = await import("../runtime.js");
      const log = (line: string) => err(localLogLine(format, line));
      const runtime = await EmbeddedRuntime.start({ configPath: g.config, stateDir: g.stateDir, port: port(), log, watchConfig: opts.watch });
      out(`pullkeeper is running on ${runtime.server?.url} (GET /healthz; /v1 needs the bearer token)`);
      out(`admin token: ${runtime.adminTokenPath}`);
      // The token itself is never printed (terminal output gets pasted into tickets): the command reads it.
      out(`dashboard: ${runtime.server?.url}/ (it asks for the token; or open ${runtime.server?.url}/#token=$(cat "${runtime.adminTokenPath}"))`);
      const reload = () => {
        log("SIGHUP: reloading the config");
        void runtime.reload();
      };
      process.on("SIGHUP", reload);
      await new Promise<void>((resolveStop) => {
        const stop = (signal: string) => {
          log(`${signal}: finishing work in flight, then stopping`);
          void runtime.stop().then(resolveStop);
        };
        process.once("SIGINT", () => stop("SIGINT"));
        process.once("SIGTERM", () => stop("SIGTERM"));
      });
      out("pullkeeper stopped");
    });

  program
    .command("validate")
    .description("check a config file; every problem is reported with its path in the file")
    .argument("<file>", "the config file")
    .action(async (file: string, _opts, cmd: Command) => {
      const g = globals(cmd);
      let text: string;
      try {
        text = await readFile(resolve(file), "utf8");
      } catch (error) {
        throw new InvalidInputError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
      }
      try {
        // The config check loads zod, yaml and every consumer kind's schema: only the commands that read a config pay for them.
        // The target modules' schemas (the objects `dev`'s targets and the deploy check with), without the targets' clients.
        const [{ checkConfigFile, scheduleIssues }, { CONSUMER_SCHEMAS }] = await Promise.all([import("@pullkeeper/core"), import("@pullkeeper/aws/lambda/consumer-schemas")]);
        const { config } = checkConfigFile(text, file, CONSUMER_SCHEMAS, scheduleIssues);
        if (g.json) out(JSON.stringify({ valid: true, registries: config.registries.length, consumers: config.consumers.length }));
        else out(`${file} is valid: ${plural(config.registries.length, "registry", "registries")}, ${plural(config.consumers.length, "consumer")}`);
      } catch (error) {
        if (!(error instanceof InvalidInputError) || !g.json) throw error;
        // `located`: the same issues as {path, message, line, column}, for editors and scripts.
        out(JSON.stringify({ valid: false, issues: error.issues, ...("located" in error && { located: error.located }) }));
        process.exitCode = 1;
      }
    });

  program
    .command("refresh")
    .description("refresh minted tokens and rotate the rotated registries now")
    .option("-r, --registry <id>", "only this registry")
    .option("-f, --force", "refresh even if the current token is still fresh", false)
    .action(async (opts: { registry?: string; force: boolean }, cmd: Command) => {
      const g = globals(cmd);
      const client = await connect({ configPath: g.config, stateDir: g.stateDir, port: port(), log: err });
      try {
        const list = await client.request("GET", "/v1/registries?limit=100");
        // Lazily: the source modules hold the config schemas (zod), which status and --help must not load.
        const { sourceCapabilities } = await import("@pullkeeper/core");
        const ids = opts.registry ? [opts.registry] : (list.body as { items: RegistryRow[] }).items.filter((r) => !sourceCapabilities({ source: { type: r.source } }).managedElsewhere).map((r) => r.id);
        const results: { registry: string; status: number; body: unknown }[] = [];
        const line = (r: (typeof results)[number]) => `${r.registry}: ${r.status === 200 ? summary(r.body) : `${(r.body as { message?: string }).message ?? `HTTP ${r.status}`}`}`;
        // A rotation takes seconds per registry: progress on stderr (a bar on a terminal), each result as it comes elsewhere.
        const bar = !g.json && ids.length > 0 && process.stderr.isTTY === true ? new SingleBar({ format: "{bar} {value}/{total} registries | {registry}", stream: process.stderr, hideCursor: true }) : undefined;
        bar?.start(ids.length, 0, { registry: ids[0] });
        for (const [i, id] of ids.entries()) {
          if (!g.json && !bar) err(`refreshing ${id} (${i + 1} of ${plural(ids.length, "registry", "registries")})`);
          const response = await client.request("POST", `/v1/registries/${encodeURIComponent(id)}/refresh?force=${opts.force}`);
          results.push({ registry: id, ...response });
          bar?.update(i + 1, { registry: ids[i + 1] ?? "done" });
          if (!g.json && !bar) out(line({ registry: id, ...response }));
        }
        bar?.stop();
        const failed = results.filter((r) => r.status !== 200 || JSON.stringify(r.body).includes('"outcome":"failed"'));
        if (g.json) out(JSON.stringify(results));
        else {
          if (bar) for (const r of results) out(line(r));
          if (results.length === 0) out("nothing to refresh: no registry is minted or rotated by pullkeeper");
        }
        if (failed.length > 0) process.exitCode = 1;
      } finally {
        await client.close();
      }
    });

  program
    .command("status")
    .description("each registry: source, current version, when it expires, when it was last verified")
    .action(async (_opts, cmd: Command) => {
      const g = globals(cmd);
      const client = await connect({ configPath: g.config, stateDir: g.stateDir, port: port(), log: err });
      try {
        const response = await client.request("GET", "/v1/registries?limit=100");
        if (response.status !== 200) throw new Error((response.body as { message?: string }).message ?? `HTTP ${response.status}`);
        const items = (response.body as { items: RegistryRow[] }).items;
        if (g.json) {
          out(JSON.stringify(items));
          return;
        }
        out(
          table(
            ["registry", "source", "current version", "expires in", "last verified", "previous version"],
            items.map((r) => [
              r.id,
              r.source,
              shortId(r.current?.versionId),
              expiresIn(r.current),
              r.current ? `${r.current.verification.status} ${until(r.current.verification.checkedAt).replace(/^expired (.*) ago$/, "$1 ago")}` : "never",
              previousCell(r),
            ]),
            // 100 columns: ids shortened (--json has them whole), the reason a previous version is kept wraps.
            fit([12, 15, 17, 17, 16, null]),
          ),
        );
      } finally {
        await client.close();
      }
    });

  const context: CommandContext = {
    connect: (cmd) => {
      const g = globals(cmd);
      return connect({ configPath: g.config, stateDir: g.stateDir, port: port(), log: err });
    },
    json: (cmd) => globals(cmd).json,
    out,
    err,
  };
  addAuditCommands(program, context);
  addLifecycleCommands(program, context);
  addSecretCommands(program, context);

  return program;
}

function summary(body: unknown): string {
  const b = body as { outcome?: string; versionId?: string; resumed?: boolean; results?: { outcome: string; code?: string; message?: string; versionId?: string }[] };
  if (b.outcome === "rotated") return `rotated to ${b.versionId}${b.resumed ? " (finished an interrupted rotation)" : ""}`;
  const r = b.results?.[0];
  if (!r) return "nothing to do";
  return r.outcome === "failed" ? `failed: ${r.code}: ${r.message}` : `${r.outcome}${r.versionId ? ` ${r.versionId}` : ""}`;
}

export async function main(argv: string[]): Promise<void> {
  try {
    await buildCli().parseAsync(argv);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    err(`pullkeeper: ${message}`);
    // A script asked for JSON: it gets a JSON line on stdout for a failure too, not an empty stdout to parse.
    if (argv.includes("--json")) {
      const code = (error as { code?: unknown }).code;
      out(JSON.stringify({ error: { code: typeof code === "string" ? code : "error", message } }));
    }
    process.exitCode = 1;
  }
}
