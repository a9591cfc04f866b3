import { ScanCommand, type ScanCommandOutput } from "@aws-sdk/client-dynamodb";
import { ClassicLevel } from "classic-level";
import { join } from "node:path";
import { startEmbeddedDynamo } from "../../../packages/local/src/dynamo/embedded-dynamo.js";
import { LEDGER_TABLE } from "../../../packages/local/src/runtime.js";
import type { Capture } from "./capture.js";

/**
 * What the stopped runtime left in DynamoDB, two ways besides the raw files: every item of the
 * ledger table through DynamoDB's Scan (dynalite started again on the same directory), and every
 * live key and value of the LevelDB store underneath, decompressed (LevelDB compresses its tables
 * with Snappy, which could split a value in the raw bytes).
 */
export async function captureLedger(capture: Capture, stateDir: string): Promise<{ items: number; entries: number }> {
  const dir = join(stateDir, "dynamo");
  const dynamo = await startEmbeddedDynamo({ dir, tableName: LEDGER_TABLE, log: (line) => capture.add("dynalite restart log", line) });
  let items = 0;
  try {
    let start: ScanCommandOutput["LastEvaluatedKey"];
    do {
      const page = await dynamo.client.send(new ScanCommand({ TableName: LEDGER_TABLE, Limit: 100, ...(start && { ExclusiveStartKey: start }) }));
      items += page.Items?.length ?? 0;
      capture.add(`DynamoDB Scan ${LEDGER_TABLE} page ${items}`, page.Items ?? []);
      start = page.LastEvaluatedKey;
    } while (start);
  } finally {
    await dynamo.stop();
  }

  const db = new ClassicLevel<Buffer, Buffer>(dir, { keyEncoding: "buffer", valueEncoding: "buffer", createIfMissing: false });
  let entries = 0;
  try {
    const chunks: Buffer[] = [];
    for await (const [key, value] of db.iterator()) {
      entries++;
      chunks.push(key, Buffer.from("\n"), value, Buffer.from("\n"));
    }
    capture.add("LevelDB entries (decompressed)", Buffer.concat(chunks));
  } finally {
    await db.close();
  }
  return { items, entries };
}
