import { type ChildProcess, spawn } from "node:child_process";
import { createRequire } from "node:module";
import { PullkeeperError } from "@pullkeeper/core";

/**
 * dynalite in its own process, so its request parsing, condition evaluation and LevelDB work run
 * on another core than the runtime's SDK calls and deliveries (in one process they shared one
 * event loop: about a third of a delivery's CPU).
 *
 * The child is plain JavaScript run by node (no TypeScript loader, nothing to bundle): it loads
 * dynalite from where this module resolves it. It stops when asked, and also when its parent is
 * gone (the IPC channel closes), so a SIGKILLed runtime does not leave it holding LevelDB's LOCK.
 */
const CHILD = `
const [, modulePath, path, port] = process.argv;
const server = require(modulePath)({ path, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
let closing = false;
const close = () => {
  if (closing) return;
  closing = true;
  server.closeIdleConnections?.();
  // dynalite's close waits for pending LevelDB operations and calls back once LevelDB is closed.
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 10000).unref();
};
server.once("error", (error) => {
  // Exiting releases LevelDB's LOCK, which dynalite took when it was created.
  process.send({ error: error.code ?? String(error) }, () => process.exit(1));
});
server.listen(Number(port), "127.0.0.1", () => process.send({ port: server.address().port }));
process.on("message", (message) => message === "close" && close());
process.on("disconnect", close);
`;

export interface DynaliteProcess {
  readonly endpoint: string;
  readonly pid: number;
  /** Resolves once the child has closed LevelDB and exited. */
  close(): Promise<void>;
}

export async function startDynaliteProcess(path: string, port: number): Promise<DynaliteProcess> {
  const modulePath = createRequire(import.meta.url).resolve("dynalite");
  const child: ChildProcess = spawn(process.execPath, ["-e", CHILD, modulePath, path, String(port)], { stdio: ["ignore", "inherit", "inherit", "ipc"], env: process.env });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const started = await new Promise<{ port?: number; error?: string }>((resolve, reject) => {
    child.once("error", reject);
    child.once("message", (message) => resolve(message as { port?: number; error?: string }));
    void exited.then(() => reject(new PullkeeperError("dynamo_exited", `embedded DynamoDB (dynalite, pid ${child.pid}) exited while starting`)));
  });
  if (started.port === undefined) {
    await exited;
    throw new PullkeeperError("port_in_use", `embedded DynamoDB cannot listen on 127.0.0.1:${port} (${started.error ?? "unknown error"})`);
  }
  // Neither the child nor its channel keeps the runtime alive; close() holds them while it waits.
  child.unref();
  (child.channel as { unref?: () => void } | undefined)?.unref?.();
  let closing: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${started.port}`,
    pid: child.pid as number,
    close() {
      closing ??= (async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.ref();
        (child.channel as { ref?: () => void } | undefined)?.ref?.();
        if (child.connected) child.send("close");
        else child.kill("SIGTERM");
        await exited;
      })();
      return closing;
    },
  };
}
