import { request as httpRequest, type IncomingHttpHeaders } from "node:http";
import { createLogger, type Logger } from "../../src/log.js";

export interface RawResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/**
 * A POST written by hand: with a declared Content-Length (which may lie) or chunked, sending
 * `bytes` bytes in pieces until they are sent or the server answers, whichever comes first.
 * Errors on the socket after the answer (the server closing on a refused upload) are ignored.
 */
export function rawPost(
  url: string,
  options: { bytes: number; contentLength?: number; headers?: Record<string, string>; piece?: number },
): Promise<RawResponse> {
  const piece = options.piece ?? 16 * 1024;
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = httpRequest(url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        ...(options.contentLength !== undefined ? { "content-length": String(options.contentLength) } : {}),
        ...options.headers,
      },
    });
    req.on("response", (res) => {
      answered = true;
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }));
      res.on("error", reject);
    });
    req.on("error", (error) => {
      if (!answered) reject(error);
    });
    let sent = 0;
    const writeMore = () => {
      while (!answered && sent < options.bytes) {
        const n = Math.min(piece, options.bytes - sent);
        sent += n;
        // Starts like a GraphQL request; the rest is padding inside the query string.
        const text = sent === n ? `{"query":"${"a".repeat(Math.max(0, n - 10))}`.slice(0, n) : "a".repeat(n);
        if (!req.write(text)) return void req.once("drain", writeMore);
      }
      if (!answered && options.contentLength === undefined) req.end();
    };
    writeMore();
  });
}

/** A POST of exactly this body text (fetch), for bodies that are not what a client library would send. */
export async function postText(url: string, body: string, headers: Record<string, string> = {}): Promise<RawResponse & { json: unknown }> {
  const response = await fetch(url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body });
  const text = await response.text();
  return { status: response.status, headers: Object.fromEntries(response.headers), body: text, json: jsonOrUndefined(text) };
}

/** The text parsed as JSON, or undefined when it is not JSON. */
export function jsonOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The value of one sample in Prometheus text, or undefined when the series is absent. */
export function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const wanted = Object.entries(labels);
  for (const line of text.split("\n")) {
    if (line.startsWith("#")) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const got = Object.fromEntries([...(match[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
    if (wanted.every(([k, v]) => got[k] === v) && Object.keys(got).length === wanted.length) return Number(match[3]);
  }
  return undefined;
}

/** A logger whose every line is kept, for tests that read what was logged. */
export function capturingLogger(level = "trace"): { logger: Logger; lines: string[]; text: () => string } {
  const lines: string[] = [];
  const destination = { write: (line: string) => void lines.push(...line.split("\n").filter(Boolean)) };
  return { logger: createLogger(level, destination), lines, text: () => lines.join("\n") };
}
