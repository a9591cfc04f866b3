import { spawn } from "node:child_process";
import { vi } from "vitest";
import { main } from "../../../packages/local/src/cli/main.js";
import { PULLKEEPER_BIN } from "../../e2e/support/harness.js";
import type { Capture } from "./capture.js";

/** The runtime's readable surfaces, into a Capture: every GET route of /v1 page by page, the dashboard, the CLI. */

interface Answer {
  readonly status: number;
  readonly body: unknown;
}

async function get(capture: Capture, baseUrl: string, path: string, token: string | undefined): Promise<Answer> {
  const response = await fetch(`${baseUrl}${path}`, { headers: token === undefined ? {} : { authorization: `Bearer ${token}` } });
  const text = await response.text();
  const headers: string[] = [];
  response.headers.forEach((value, name) => headers.push(`${name}: ${value}`));
  capture.add(`api GET ${path} (${token === undefined ? "no token" : "admin token"})`, `${response.status}\n${headers.join("\n")}\n\n${text}`);
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // The dashboard's HTML and script.
  }
  return { status: response.status, body };
}

/** Follows `cursor` until the last page; returns every item. */
async function pages(capture: Capture, baseUrl: string, path: string, token: string): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 200; page++) {
    const sep = path.includes("?") ? "&" : "?";
    const answer = await get(capture, baseUrl, cursor === undefined ? path : `${path}${sep}cursor=${encodeURIComponent(cursor)}`, token);
    if (answer.status !== 200) throw new Error(`GET ${path}: ${answer.status} ${JSON.stringify(answer.body)}`);
    const body = answer.body as { items?: Record<string, unknown>[]; cursor?: string | null };
    items.push(...(body.items ?? []));
    if (!body.cursor) return items;
    cursor = body.cursor;
  }
  throw new Error(`GET ${path}: more than 200 pages`);
}

/** Every GET route of /v1 (lists a page of one or two at a time, to walk the cursors), the dashboard, /healthz, and a few refusals. */
export async function walkApi(capture: Capture, baseUrl: string, token: string): Promise<{ requests: number; registries: string[] }> {
  const before = capture.artifacts.length;
  await get(capture, baseUrl, "/healthz", undefined);
  const html = await get(capture, baseUrl, "/", token);
  await get(capture, baseUrl, "/index.html", token);
  // The page's own assets, whatever it names.
  for (const [, asset] of String(html.body).matchAll(/(?:src|href)="(\/[^"#?]*)"/g)) await get(capture, baseUrl, asset as string, token);
  await get(capture, baseUrl, "/dashboard.js", token);

  const registries = (await pages(capture, baseUrl, "/v1/registries?limit=1", token)).map((r) => String(r.id));
  await pages(capture, baseUrl, "/v1/registries", token);
  for (const id of registries) {
    await get(capture, baseUrl, `/v1/registries/${id}`, token);
    await get(capture, baseUrl, `/v1/registries/${id}/versions`, token);
    await pages(capture, baseUrl, `/v1/registries/${id}/history?limit=2`, token);
    await pages(capture, baseUrl, `/v1/consumers?registry=${id}&limit=2`, token);
    await pages(capture, baseUrl, `/v1/environments?registry=${id}`, token);
  }
  await pages(capture, baseUrl, "/v1/consumers?limit=1", token);
  await pages(capture, baseUrl, "/v1/consumers?state=failed", token);
  for (const verdict of ["current", "stale", "expired", "doomed"]) await pages(capture, baseUrl, `/v1/environments?verdict=${verdict}&limit=1`, token);
  await pages(capture, baseUrl, "/v1/environments", token);
  await get(capture, baseUrl, "/v1/expiring", token);
  await get(capture, baseUrl, "/v1/expiring?within=30d", token);

  // The actions' answers too: a propagation, a redelivery, a rollback refused (the previous login is revoked).
  for (const path of ["/v1/registries/local/propagate", "/v1/consumers/docker-login/redeliver", "/v1/registries/local/rollback", "/v1/registries/nope/refresh"]) {
    const response = await fetch(`${baseUrl}${path}`, { method: "POST", headers: { authorization: `Bearer ${token}` } });
    capture.add(`api POST ${path} → ${response.status}`, await response.text());
  }
  // Refusals carry messages built from internals: they are searched too.
  for (const path of ["/v1/registries", "/v1/consumers"]) await get(capture, baseUrl, path, undefined);
  for (const path of ["/v1/nope", "/v1/registries/nope", "/v1/registries/nope/history", "/v1/registries/%ff", "/v1/consumers?cursor=e30", "/v1/consumers?limit=abc", "/v1/registries/local/history?cursor=bm90LWEtY3Vyc29y"]) {
    await get(capture, baseUrl, path, token);
  }
  return { requests: capture.artifacts.length - before, registries };
}

export interface CliRun {
  readonly args: readonly string[];
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * `pullkeeper <args>` in this process (the CLI's own main(), against the runtime's HTTP API as the
 * bin does), its writes to stdout and stderr taken from `output` (captureOutput's array). Fast: no
 * Node start and no tsx per command. `process.exitCode` is read and put back.
 */
export async function cliInProcess(capture: Capture, output: string[], args: readonly string[], to: { configPath: string; stateDir: string }): Promise<CliRun> {
  const start = output.length;
  const saved = process.exitCode;
  process.exitCode = 0;
  // Commander exits the process on a usage error; here that becomes an error main() reports, as the bin would before exiting.
  const exit = vi.spyOn(process, "exit").mockImplementation((code) => {
    throw new Error(`exit ${String(code)}`);
  });
  try {
    await main(["node", "pullkeeper", ...args, "--config", to.configPath, "--state-dir", to.stateDir]);
  } finally {
    exit.mockRestore();
  }
  const code = Number(process.exitCode ?? 0);
  process.exitCode = saved;
  const written = output.slice(start).join("");
  capture.add(`cli (in process) pullkeeper ${args.join(" ")} → exit ${code}`, written);
  return { args, code, stdout: written, stderr: "" };
}

/** `pullkeeper <args>` as a user runs it: the bin in a child process, stdout and stderr apart. */
export function cliSpawned(capture: Capture, args: readonly string[], to: { configPath: string; stateDir: string; port: number }, stdin?: string): Promise<CliRun> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [PULLKEEPER_BIN, ...args, "--config", to.configPath, "--state-dir", to.stateDir], { env: { ...process.env, PULLKEEPER_PORT: String(to.port) }, timeout: 60_000 });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString("utf8")));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString("utf8")));
    child.stdin.end(stdin ?? "");
    child.on("close", (status) => {
      capture.add(`cli pullkeeper ${args.join(" ")} → exit ${status} (stdout)`, stdout);
      capture.add(`cli pullkeeper ${args.join(" ")} → exit ${status} (stderr)`, stderr);
      done({ args, code: status ?? -1, stdout, stderr });
    });
  });
}
