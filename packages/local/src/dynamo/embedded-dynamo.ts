import {
  type AttributeValue,
  BatchWriteItemCommand,
  CreateTableCommand,
  type CreateTableCommandInput,
  DeleteTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ListTablesCommand,
  type ProvisionedThroughputDescription,
  ScanCommand,
  type TableDescription,
  type WriteRequest,
} from "@aws-sdk/client-dynamodb";
import { ensureLedgerTable } from "@pullkeeper/aws";
import { PullkeeperError } from "@pullkeeper/core";
import { replaceFile } from "@pullkeeper/files";
import { randomBytes } from "node:crypto";
import { link, mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { startDynaliteProcess } from "./dynalite-process.js";

/**
 * DynamoDB for the embedded runtime: dynalite in a child process (dynalite-process.ts) on
 * 127.0.0.1, persisted in a LevelDB directory, with the ledger table ensured.
 *
 * Two of dynalite's habits shape this file:
 * - CreateTable writes the table as CREATING and flips it to ACTIVE on a timer. A process killed
 *   in between leaves it CREATING on disk for good: DescribeTable says CREATING forever, CreateTable
 *   says ResourceInUseException, and DeleteTable refuses a CREATING table (ResourceInUseException,
 *   "Table is being created"). Tables here are made with createTableMs 0, and the lock file below
 *   guarantees no other process is using the store, so any table found CREATING at start is such a
 *   remnant. It holds no items (dynalite refuses writes to a CREATING table), so the store is moved
 *   aside to `<dir>.broken-<timestamp>` and a fresh one started; tables that hold data are copied
 *   into the fresh store first. A table left DELETING is deleted again (dynalite allows that).
 * - A dynalite whose LevelDB cannot be opened (another process holds its LOCK) does not fail to
 *   start: it crashes its process with an uncaught "Database is closed" at the first request.
 *   So the store is guarded by `<dir>.lock` (the owner's pid, then its dynalite child's), which
 *   turns a second start on the same directory into a clear error; a lock whose owner is gone is
 *   taken over once its child has exited too.
 */

export interface EmbeddedDynamoOptions {
  /** The LevelDB directory (created if missing). `<dir>.lock` and, after a recovery, `<dir>.broken-*` sit next to it. */
  readonly dir: string;
  readonly tableName: string;
  /** 0 (the default) picks a free port. */
  readonly port?: number;
  /** Receives one line per recovery. Defaults to console.warn. */
  readonly log?: (line: string) => void;
}

export interface EmbeddedDynamo {
  /** http://127.0.0.1:<port> */
  readonly endpoint: string;
  /** A client for `endpoint` with static dummy credentials and region: no AWS configuration needed. */
  readonly client: DynamoDBClient;
  readonly tableName: string;
  /** Closes the client and the server and resolves once LevelDB is closed, so the directory can be opened again. */
  stop(): Promise<void>;
}

export async function startEmbeddedDynamo(options: EmbeddedDynamoOptions): Promise<EmbeddedDynamo> {
  const dir = resolve(options.dir);
  const log = options.log ?? ((line: string) => console.warn(line));
  const port = options.port ?? 0;
  await mkdir(dirname(dir), { recursive: true });
  const unlock = await lock(dir);
  let store: Store | undefined;
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    store = await openStore(dir, port, (child) => recordChild(dir, child));
    const tables = await describeTables(store.client);
    for (const table of tables.filter((t) => t.TableStatus === "DELETING")) {
      await finishDelete(store.client, table.TableName as string);
      log(`embedded DynamoDB: table ${table.TableName} in ${dir} was left DELETING by a process that stopped mid-delete; finished deleting it`);
    }
    const remaining = tables.filter((t) => t.TableStatus !== "DELETING");
    if (remaining.some((t) => !isActive(t))) {
      await store.close();
      store = undefined;
      log(await recover(dir, remaining));
      store = await openStore(dir, port, (child) => recordChild(dir, child));
    }
    await ensureLedgerTable(store.client, options.tableName);
  } catch (error) {
    await store?.close().catch(() => undefined);
    await unlock();
    throw error;
  }
  const opened = store;
  let stopping: Promise<void> | undefined;
  return {
    endpoint: opened.endpoint,
    client: opened.client,
    tableName: options.tableName,
    stop() {
      stopping ??= opened.close().finally(unlock);
      return stopping;
    },
  };
}

interface Store {
  readonly endpoint: string;
  readonly client: DynamoDBClient;
  close(): Promise<void>;
}

async function openStore(path: string, port: number, owner?: (childPid: number) => Promise<void>): Promise<Store> {
  const server = await startDynaliteProcess(path, port);
  await owner?.(server.pid);
  const endpoint = server.endpoint;
  const client = new DynamoDBClient({
    endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "pullkeeper-local", secretAccessKey: "pullkeeper-local" },
    // dynalite checks that a request is signed, not the signature: a fixed one saves an HMAC chain per call.
    signer: { sign: async (request) => fixedSignature(request) },
  });
  let closing: Promise<void> | undefined;
  return {
    endpoint,
    client,
    close() {
      closing ??= (async () => {
        client.destroy();
        await server.close();
      })();
      return closing;
    },
  };
}

const FIXED_AUTHORIZATION = "AWS4-HMAC-SHA256 Credential=pullkeeper-local/20000101/us-east-1/dynamodb/aws4_request, SignedHeaders=host;x-amz-date, Signature=0";

function fixedSignature<R extends { headers: Record<string, string> }>(request: R): R {
  request.headers["x-amz-date"] = new Date().toISOString().replace(/[-:]|\.\d{3}/g, "");
  request.headers.authorization = FIXED_AUTHORIZATION;
  return request;
}

function isActive(table: TableDescription): boolean {
  return table.TableStatus === "ACTIVE" && (table.GlobalSecondaryIndexes ?? []).every((i) => i.IndexStatus === "ACTIVE");
}

async function describeTables(client: DynamoDBClient): Promise<TableDescription[]> {
  const tables: TableDescription[] = [];
  let start: string | undefined;
  do {
    const page = await client.send(new ListTablesCommand({ ...(start !== undefined && { ExclusiveStartTableName: start }) }));
    for (const name of page.TableNames ?? []) {
      const out = await client.send(new DescribeTableCommand({ TableName: name }));
      if (out.Table) tables.push(out.Table);
    }
    start = page.LastEvaluatedTableName;
  } while (start !== undefined);
  return tables;
}

async function finishDelete(client: DynamoDBClient, tableName: string): Promise<void> {
  await client.send(new DeleteTableCommand({ TableName: tableName }));
  await waitFor(tableName, async () => {
    try {
      await client.send(new DescribeTableCommand({ TableName: tableName }));
      return false;
    } catch (error) {
      if ((error as { name?: string }).name === "ResourceNotFoundException") return true;
      throw error;
    }
  });
}

/**
 * Moves the store at `dir` aside and leaves a fresh one in its place, holding a copy of every
 * table that can hold items (all but the CREATING ones). The copy is built in a staging
 * directory and swapped in by rename, so a crash midway leaves `dir` as it was, to be recovered
 * again at the next start. Returns the line to log.
 */
async function recover(dir: string, tables: readonly TableDescription[]): Promise<string> {
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const broken = `${dir}.broken-${stamp}`;
  const stuck = tables.filter((t) => !isActive(t)).map((t) => `${t.TableName} (${t.TableStatus})`);
  const keep = tables.filter((t) => t.TableStatus !== "CREATING");
  // Leftovers of a recovery that was itself interrupted.
  const siblings = await readdir(dirname(dir));
  await Promise.all(
    siblings.filter((n) => n.startsWith(`${basename(dir)}.recovering-`)).map((n) => rm(join(dirname(dir), n), { recursive: true, force: true })),
  );
  if (keep.length > 0) {
    const staging = `${dir}.recovering-${stamp}`;
    const source = await openStore(dir, 0);
    try {
      const target = await openStore(staging, 0);
      try {
        for (const table of keep) await copyTable(source.client, target.client, table);
      } finally {
        await target.close();
      }
    } finally {
      await source.close();
    }
    await rename(dir, broken);
    await rename(staging, dir);
  } else {
    await rename(dir, broken);
    await mkdir(dir, { recursive: true, mode: 0o700 });
  }
  const copied = keep.length > 0 ? `, copying ${keep.map((t) => t.TableName).join(", ")} into it` : "";
  return (
    `embedded DynamoDB: ${stuck.join(", ")} in ${dir} was left unfinished by a process that was stopped mid-change; ` +
    `moved the store to ${broken} and started a fresh one${copied} (a CREATING table holds no data)`
  );
}

async function copyTable(from: DynamoDBClient, to: DynamoDBClient, table: TableDescription): Promise<void> {
  const name = table.TableName as string;
  await to.send(new CreateTableCommand(recreateInput(table)));
  await waitFor(name, async () => isActive((await to.send(new DescribeTableCommand({ TableName: name }))).Table ?? {}));
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await from.send(new ScanCommand({ TableName: name, ...(start !== undefined && { ExclusiveStartKey: start }) }));
    const items = page.Items ?? [];
    for (let i = 0; i < items.length; i += 25) {
      let pending: Record<string, WriteRequest[]> = { [name]: items.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } })) };
      while (Object.keys(pending).length > 0) {
        pending = (await to.send(new BatchWriteItemCommand({ RequestItems: pending }))).UnprocessedItems ?? {};
      }
    }
    start = page.LastEvaluatedKey;
  } while (start !== undefined);
}

/** The CreateTable input that gives a table of the same keys, indexes and billing mode. */
function recreateInput(table: TableDescription): CreateTableCommandInput {
  const onDemand = table.BillingModeSummary?.BillingMode === "PAY_PER_REQUEST";
  const throughput = (p: ProvisionedThroughputDescription | undefined) => ({
    ReadCapacityUnits: Math.max(1, p?.ReadCapacityUnits ?? 1),
    WriteCapacityUnits: Math.max(1, p?.WriteCapacityUnits ?? 1),
  });
  const gsis = table.GlobalSecondaryIndexes ?? [];
  const lsis = table.LocalSecondaryIndexes ?? [];
  return {
    TableName: table.TableName,
    AttributeDefinitions: table.AttributeDefinitions,
    KeySchema: table.KeySchema,
    BillingMode: onDemand ? "PAY_PER_REQUEST" : "PROVISIONED",
    ...(!onDemand && { ProvisionedThroughput: throughput(table.ProvisionedThroughput) }),
    ...(gsis.length > 0 && {
      GlobalSecondaryIndexes: gsis.map((i) => ({
        IndexName: i.IndexName,
        KeySchema: i.KeySchema,
        Projection: i.Projection,
        ...(!onDemand && { ProvisionedThroughput: throughput(i.ProvisionedThroughput) }),
      })),
    }),
    ...(lsis.length > 0 && { LocalSecondaryIndexes: lsis.map((i) => ({ IndexName: i.IndexName, KeySchema: i.KeySchema, Projection: i.Projection })) }),
  };
}

async function waitFor(tableName: string, done: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > deadline) throw new PullkeeperError("dynamo_timeout", `embedded DynamoDB: table ${tableName} did not settle within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Directories this process has open: the lock file cannot tell them from a stale lock of ours. */
const openDirs = new Set<string>();

/** Takes `<dir>.lock` for this process; returns the function that releases it. */
async function lock(dir: string): Promise<() => Promise<void>> {
  const path = `${dir}.lock`;
  if (openDirs.has(dir)) {
    throw new PullkeeperError("dynamo_store_in_use", `embedded DynamoDB store ${dir} is already open in this process; stop() it before starting it again`);
  }
  for (let attempt = 0; attempt < 5; attempt++) {
    // Written whole to a temp file, then link()ed into place: link fails if the lock exists, and
    // nobody ever reads a lock file without its pid.
    const temp = `${path}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`;
    try {
      await writeFile(temp, `${process.pid}\n`, { mode: 0o600, flag: "wx" });
      await link(temp, path);
      openDirs.add(dir);
      return async () => {
        openDirs.delete(dir);
        await rm(path, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    } finally {
      await rm(temp, { force: true });
    }
    const [owner, child] = (await readFile(path, "utf8").catch(() => "")).split("\n").map((line) => Number.parseInt(line, 10));
    if (owner !== undefined && Number.isInteger(owner) && owner > 0 && owner !== process.pid && isAlive(owner)) {
      throw new PullkeeperError(
        "dynamo_store_in_use",
        `embedded DynamoDB store ${dir} is in use by process ${owner} (${path}); stop it, or delete that file if process ${owner} is not pullkeeper`,
      );
    }
    // Its owner is gone: a stale lock. Its dynalite child stops when it notices, within moments;
    // until then it holds LevelDB's LOCK, which would crash the next dynalite at its first request.
    if (child !== undefined && Number.isInteger(child) && child > 0) await exitOf(child, 10_000, dir);
    await rm(path, { force: true });
  }
  throw new PullkeeperError("dynamo_store_in_use", `embedded DynamoDB store ${dir}: could not take ${path}`);
}

/** Adds the dynalite child's pid to our lock, so whoever takes over a stale lock waits for that child too. */
async function recordChild(dir: string, child: number): Promise<void> {
  // Replaced whole (temp file, rename): a reader never sees it without the owner's pid.
  await replaceFile(`${dir}.lock`, `${process.pid}\n${child}\n`, { mode: 0o600 });
}

async function exitOf(pid: number, timeoutMs: number, dir: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid)) {
    if (Date.now() > deadline) throw new PullkeeperError("dynamo_store_in_use", `embedded DynamoDB store ${dir}: its previous dynalite (process ${pid}) outlived its runtime; stop it`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
