import {
  CreateTableCommand,
  DeleteTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  GetItemCommand,
  ListTablesCommand,
  PutItemCommand,
} from "@aws-sdk/client-dynamodb";
import { DynamoLedger, ledgerTableDefinition } from "@pullkeeper/aws";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { startEmbeddedDynamo } from "./embedded-dynamo.js";

const roots: string[] = [];
async function freshDir(): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), "pullkeeper-dynamo-"));
  roots.push(root);
  return join(root, "dynamo");
}
afterAll(async () => {
  await Promise.all(roots.map((d) => rm(d, { recursive: true, force: true })));
});

const key = (pk: string) => ({ pk: { S: pk }, sk: { S: "item" } });

async function put(client: DynamoDBClient, table: string, pk: string, value: string): Promise<void> {
  await client.send(new PutItemCommand({ TableName: table, Item: { ...key(pk), value: { S: value } } }));
}
async function get(client: DynamoDBClient, table: string, pk: string): Promise<string | undefined> {
  return (await client.send(new GetItemCommand({ TableName: table, Key: key(pk), ConsistentRead: true }))).Item?.value?.S;
}

/**
 * dynalite in a child process on `dir`, with tables that take ten minutes to turn ACTIVE and to
 * finish deleting: whatever the test starts there is left half done when the child is SIGKILLed.
 */
async function slowDynaliteChild(dir: string): Promise<{ client: DynamoDBClient; kill(): Promise<void> }> {
  const dynalitePath = createRequire(import.meta.url).resolve("dynalite");
  const script = `const s = require(${JSON.stringify(dynalitePath)})({ path: ${JSON.stringify(dir)}, createTableMs: 600000, deleteTableMs: 600000 });
s.listen(0, "127.0.0.1", () => process.stdout.write(s.address().port + "\\n"));`;
  const child: ChildProcess = spawn(process.execPath, ["-e", script], { stdio: ["ignore", "pipe", "inherit"] });
  const port = await new Promise<number>((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`dynalite child exited with ${code}`)));
    child.stdout?.once("data", (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
  });
  const client = new DynamoDBClient({ endpoint: `http://127.0.0.1:${port}`, region: "us-east-1", credentials: { accessKeyId: "x", secretAccessKey: "x" } });
  return {
    client,
    async kill() {
      client.destroy();
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGKILL");
      await exited;
    },
  };
}

describe("startEmbeddedDynamo", () => {
  it("persists: data written survives stop and a new start on the same dir, in the same process", async () => {
    const dir = await freshDir();
    const first = await startEmbeddedDynamo({ dir, tableName: "ledger" });
    expect(first.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    await put(first.client, "ledger", "a", "one");
    await first.stop();
    await first.stop(); // idempotent

    const second = await startEmbeddedDynamo({ dir, tableName: "ledger" });
    expect(await get(second.client, "ledger", "a")).toBe("one");
    await put(second.client, "ledger", "b", "two");
    await second.stop();

    const third = await startEmbeddedDynamo({ dir, tableName: "ledger" });
    expect(await get(third.client, "ledger", "a")).toBe("one");
    expect(await get(third.client, "ledger", "b")).toBe("two");
    // The ledger adapter works against it unchanged.
    const ledger = new DynamoLedger({ client: third.client, tableName: third.tableName });
    expect(await ledger.registryState("nothing-yet")).toBeUndefined();
    await third.stop();
  });

  it("needs no AWS configuration: the client carries its own region and credentials", async () => {
    const saved = { ...process.env };
    for (const name of ["AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]) delete process.env[name];
    process.env.AWS_CONFIG_FILE = "/nonexistent/config";
    process.env.AWS_SHARED_CREDENTIALS_FILE = "/nonexistent/credentials";
    try {
      const dynamo = await startEmbeddedDynamo({ dir: await freshDir(), tableName: "ledger" });
      expect((await dynamo.client.send(new ListTablesCommand({}))).TableNames).toEqual(["ledger"]);
      await dynamo.stop();
    } finally {
      process.env = saved;
    }
  });

  it("recovers a table a SIGKILLed process left CREATING: logs one line, moves the store aside, the table becomes ACTIVE and usable", async () => {
    const dir = await freshDir();
    const child = await slowDynaliteChild(dir);
    await child.client.send(new CreateTableCommand(ledgerTableDefinition("ledger")));
    expect((await child.client.send(new DescribeTableCommand({ TableName: "ledger" }))).Table?.TableStatus).toBe("CREATING");
    // What makes it a trap: dynalite refuses to delete a CREATING table.
    await expect(child.client.send(new DeleteTableCommand({ TableName: "ledger" }))).rejects.toMatchObject({ name: "ResourceInUseException" });
    await child.kill();

    const lines: string[] = [];
    const dynamo = await startEmbeddedDynamo({ dir, tableName: "ledger", log: (line) => lines.push(line) });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/ledger \(CREATING\)/);
    expect(lines[0]).toContain(`${dir}.broken-`);
    const described = await dynamo.client.send(new DescribeTableCommand({ TableName: "ledger" }));
    expect(described.Table?.TableStatus).toBe("ACTIVE");
    await put(dynamo.client, "ledger", "a", "one");
    expect(await get(dynamo.client, "ledger", "a")).toBe("one");
    await dynamo.stop();
    const siblings = await readdir(join(dir, ".."));
    expect(siblings.filter((n) => n.startsWith("dynamo.broken-"))).toHaveLength(1);
    expect(siblings.filter((n) => n.includes("recovering"))).toEqual([]);

    // Recovered for good: the next start logs nothing and finds the data.
    const again = await startEmbeddedDynamo({ dir, tableName: "ledger", log: (line) => lines.push(line) });
    expect(await get(again.client, "ledger", "a")).toBe("one");
    expect(lines).toHaveLength(1);
    await again.stop();
  });

  it("keeps the other tables' data when it recovers a store that also holds a stuck table", async () => {
    const dir = await freshDir();
    const before = await startEmbeddedDynamo({ dir, tableName: "other" });
    for (let i = 0; i < 60; i++) await put(before.client, "other", `k${i}`, `v${i}`);
    await before.stop();
    const child = await slowDynaliteChild(dir);
    await child.client.send(new CreateTableCommand(ledgerTableDefinition("ledger")));
    await child.kill();

    const lines: string[] = [];
    const dynamo = await startEmbeddedDynamo({ dir, tableName: "ledger", log: (line) => lines.push(line) });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/copying other into it/);
    expect((await dynamo.client.send(new ListTablesCommand({}))).TableNames).toEqual(["ledger", "other"]);
    const other = await dynamo.client.send(new DescribeTableCommand({ TableName: "other" }));
    expect(other.Table?.TableStatus).toBe("ACTIVE");
    expect(other.Table?.GlobalSecondaryIndexes?.map((i) => i.IndexName)).toEqual(["gsi1"]);
    expect(other.Table?.BillingModeSummary?.BillingMode).toBe("PAY_PER_REQUEST");
    for (let i = 0; i < 60; i++) expect(await get(dynamo.client, "other", `k${i}`)).toBe(`v${i}`);
    await put(dynamo.client, "ledger", "a", "one");
    await dynamo.stop();
  });

  it("finishes deleting a table a SIGKILLed process left DELETING", async () => {
    const dir = await freshDir();
    const before = await startEmbeddedDynamo({ dir, tableName: "old" });
    await before.stop();
    const child = await slowDynaliteChild(dir);
    await child.client.send(new DeleteTableCommand({ TableName: "old" }));
    expect((await child.client.send(new DescribeTableCommand({ TableName: "old" }))).Table?.TableStatus).toBe("DELETING");
    await child.kill();

    const lines: string[] = [];
    const dynamo = await startEmbeddedDynamo({ dir, tableName: "ledger", log: (line) => lines.push(line) });
    expect(lines).toEqual([expect.stringMatching(/table old .* DELETING .*finished deleting it/)]);
    expect((await dynamo.client.send(new ListTablesCommand({}))).TableNames).toEqual(["ledger"]);
    await dynamo.stop();
  });

  it("refuses a second start on a store that is open, instead of crashing at the first request", async () => {
    const dir = await freshDir();
    const dynamo = await startEmbeddedDynamo({ dir, tableName: "ledger" });
    await expect(startEmbeddedDynamo({ dir, tableName: "ledger" })).rejects.toMatchObject({ code: "dynamo_store_in_use" });
    await dynamo.stop();
    const again = await startEmbeddedDynamo({ dir, tableName: "ledger" });
    await again.stop();
  });

  it("takes over the lock of a process that died", async () => {
    const dir = await freshDir();
    const dead = spawn(process.execPath, ["-e", ""]);
    const pid = dead.pid as number;
    await new Promise((resolve) => dead.once("exit", resolve));
    await writeFile(`${dir}.lock`, `${pid}\n`);
    const dynamo = await startEmbeddedDynamo({ dir, tableName: "ledger" });
    await dynamo.stop();
  });

  it("runs dynalite in its own process, which stops with a SIGKILLed runtime: the next start takes the store over and has its data", async () => {
    const dir = await freshDir();
    const module = new URL("./embedded-dynamo.ts", import.meta.url).pathname;
    const script = `const m = await import(${JSON.stringify(module)});
const d = await m.startEmbeddedDynamo({ dir: ${JSON.stringify(dir)}, tableName: "ledger" });
const { PutItemCommand } = await import("@aws-sdk/client-dynamodb");
await d.client.send(new PutItemCommand({ TableName: "ledger", Item: { pk: { S: "kept" }, sk: { S: "item" }, value: { S: "before the kill" } } }));
process.stdout.write("ready\\n");
setInterval(() => undefined, 1000);`;
    const runtime = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "inherit"], cwd: process.cwd() });
    await new Promise<void>((resolve, reject) => {
      runtime.once("exit", (code) => reject(new Error(`the runtime exited with ${code} before it was ready`)));
      runtime.stdout?.on("data", (chunk: Buffer) => chunk.toString().includes("ready") && resolve());
    });
    const [owner, child] = (await readFile(`${dir}.lock`, "utf8")).split("\n").map(Number);
    expect(owner).toBe(runtime.pid);
    expect(child).toBeGreaterThan(0);
    expect(child).not.toBe(runtime.pid);
    expect(() => process.kill(child as number, 0)).not.toThrow();

    const killed = new Promise((resolve) => runtime.once("exit", resolve));
    runtime.kill("SIGKILL");
    await killed;
    // No waiting here: the next start waits for the orphaned dynalite itself, then opens LevelDB.
    const next = await startEmbeddedDynamo({ dir, tableName: "ledger" });
    expect(() => process.kill(child as number, 0)).toThrow();
    expect(await get(next.client, "ledger", "kept")).toBe("before the kill");
    await next.stop();
  }, 60_000);

  it("says which port is taken, and releases the store so the next start works", async () => {
    const dir = await freshDir();
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      await expect(startEmbeddedDynamo({ dir, tableName: "ledger", port })).rejects.toMatchObject({
        code: "port_in_use",
        message: expect.stringContaining(`127.0.0.1:${port}`),
      });
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
    const dynamo = await startEmbeddedDynamo({ dir, tableName: "ledger", port });
    expect(dynamo.endpoint).toBe(`http://127.0.0.1:${port}`);
    await dynamo.stop();
  });
});
