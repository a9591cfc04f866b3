import { request } from "node:http";

/**
 * One JSON request to the embedded runtime on 127.0.0.1, through node:http rather than fetch: the
 * CLI makes two or three of these per command, and fetch's first use in a process costs about
 * 0.4 s of CPU (node compiles undici on demand), more than the rest of `pullkeeper status`.
 */
export function requestJson(
  method: string,
  url: string,
  options: { readonly headers?: Record<string, string>; readonly body?: string; readonly timeoutMs?: number } = {},
): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers: { ...options.headers, ...(options.body !== undefined && { "content-length": String(Buffer.byteLength(options.body)) }) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("error", reject);
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        let body: unknown;
        try {
          body = text === "" ? undefined : JSON.parse(text);
        } catch {
          body = { message: `${method} ${new URL(url).pathname} answered HTTP ${res.statusCode} with something that is not JSON` };
        }
        resolve({ status: res.statusCode ?? 0, body });
      });
    });
    req.on("error", reject);
    if (options.timeoutMs !== undefined) req.setTimeout(options.timeoutMs, () => req.destroy(new Error(`${method} ${url}: no answer within ${options.timeoutMs} ms`)));
    req.end(options.body);
  });
}
