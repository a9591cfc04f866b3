declare module "dynalite" {
  import type { Server } from "node:http";
  interface DynaliteOptions {
    path?: string;
    createTableMs?: number;
    deleteTableMs?: number;
    updateTableMs?: number;
    maxItemSizeKb?: number;
    ssl?: boolean;
  }
  /** dynalite's factory: a node http.Server speaking the DynamoDB API. */
  export default function dynalite(options?: DynaliteOptions): Server;
}
