import { writeFileSync } from "node:fs";
import { propagationTime } from "./propagation.js";

/**
 * Runs one propagation measurement in its own process: the embedded runtime logs to stdout like
 * Lambda does, which must not mix with the bench's JSON. Writes the figure to argv[2].
 */
const [out, consumers, latencyMs, perSecond, concurrency] = process.argv.slice(2);
const ms = await propagationTime({ consumers: Number(consumers), latencyMs: Number(latencyMs), perSecond: Number(perSecond), concurrency: Number(concurrency) });
writeFileSync(out as string, JSON.stringify({ ms }));
process.exit(0);
