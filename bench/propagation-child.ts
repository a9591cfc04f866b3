import { writeFileSync } from "node:fs";
import { codespacesPropagationTime, propagationTime } from "./propagation.js";

/**
 * Runs one propagation measurement in its own process: the embedded runtime logs to stdout like
 * Lambda does, which must not mix with the bench's JSON. Writes the figure to argv[2].
 * `<out> <consumers> <latencyMs> <perSecond> <concurrency>`: the fake provider at perSecond;
 * `<out> <consumers> <latencyMs> codespaces <concurrency>`: Codespaces consumers at GitHub's limit.
 */
const [out, consumers, latencyMs, perSecond, concurrency] = process.argv.slice(2);
const measured =
  perSecond === "codespaces"
    ? await codespacesPropagationTime({ consumers: Number(consumers), latencyMs: Number(latencyMs), concurrency: Number(concurrency) })
    : await propagationTime({ consumers: Number(consumers), latencyMs: Number(latencyMs), perSecond: Number(perSecond), concurrency: Number(concurrency) });
writeFileSync(out as string, JSON.stringify(measured));
process.exit(0);
