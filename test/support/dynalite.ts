import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { ensureLedgerTable } from "@pullkeeper/aws";
import type { AddressInfo } from "node:net";
import dynalite from "dynalite";

export interface EmbeddedDynamo {
  readonly endpoint: string;
  readonly client: DynamoDBClient;
  /** A client of its own, as a separate Lambda would have; stop() destroys it. */
  newClient(): DynamoDBClient;
  createLedgerTable(name?: string): Promise<string>;
  stop(): Promise<void>;
}

let tableCounter = 0;

/** A real DynamoDB implementation (dynalite) in this process, on 127.0.0.1, in memory. */
export async function startDynalite(): Promise<EmbeddedDynamo> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}`;
  const clients: DynamoDBClient[] = [];
  const newClient = () => {
    const c = new DynamoDBClient({ endpoint, region: "us-east-1", credentials: { accessKeyId: "test", secretAccessKey: "test" } });
    clients.push(c);
    return c;
  };
  const client = newClient();
  return {
    endpoint,
    client,
    newClient,
    async createLedgerTable(name = `ledger-${process.pid}-${++tableCounter}`) {
      await ensureLedgerTable(client, name);
      return name;
    },
    async stop() {
      for (const c of clients) c.destroy();
      await new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve())));
    },
  };
}
