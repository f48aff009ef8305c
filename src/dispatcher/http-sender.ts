import { EventEmitter } from "node:events";
import { isIP } from "node:net";
import { Agent, errors as undiciErrors } from "undici";
import type { TargetGuard } from "./target-guard.js";
import { BlockedTargetError } from "./target-guard.js";

/** What one attempt sends. Headers as a flat [name, value, name, value, …] list, as undici takes them. */
export interface OutgoingRequest {
  readonly url: URL;
  readonly method: "POST" | "PUT" | "PATCH";
  readonly headers: string[];
  readonly body: string;
}

/**
 * Ends an attempt early (shutdown, or its total timeout). undici accepts an EventEmitter as a
 * request's signal; one is much cheaper to make per attempt than an AbortController.
 */
export class AttemptAbort extends EventEmitter {
  aborted = false;
  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    this.emit("abort");
  }
}

export type ErrorClass =
  | "TIMEOUT"
  | "CONNECTION_REFUSED"
  | "CONNECTION_RESET"
  | "DNS"
  | "TLS"
  | "BLOCKED_TARGET"
  | "HTTP_STATUS"
  | "NETWORK"
  | "ABORTED";

/** What came back, or why nothing did. */
export interface AttemptOutcome {
  readonly succeeded: boolean;
  readonly status: number | null;
  readonly headers: Record<string, string> | null;
  readonly body: string | null;
  readonly errorClass: ErrorClass | null;
  readonly errorMessage: string | null;
  readonly durationMs: number;
}

export interface HttpSenderOptions {
  readonly connectTimeoutMs: number;
  readonly totalTimeoutMs: number;
  readonly maxResponseBytes: number;
  readonly guard: TargetGuard;
  readonly connections?: number;
}

export interface HttpSender {
  /** Sends once. abort.abort() ends the attempt as ABORTED; the total timeout ends it as TIMEOUT. */
  send(request: OutgoingRequest, abort: AttemptAbort): Promise<AttemptOutcome>;
  close(): Promise<void>;
}

/**
 * undici with one keep-alive pool per origin (Agent), connect and total timeouts,
 * redirects not followed (a 3xx is a failed attempt), and the SSRF guard in the socket lookup.
 */
export function createHttpSender(options: HttpSenderOptions): HttpSender {
  const agent = new Agent({
    connect: { timeout: options.connectTimeoutMs, lookup: options.guard.lookup },
    connections: options.connections ?? 128,
    keepAliveTimeout: 30_000,
    headersTimeout: options.totalTimeoutMs,
    bodyTimeout: options.totalTimeoutMs,
  });

  return {
    async send(request, abort) {
      const started = performance.now();
      const elapsed = () => Math.round(performance.now() - started);
      // The caller's abort also carries the total timeout: one abort path per attempt.
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        abort.abort();
      }, options.totalTimeoutMs);
      try {
        // A host name is checked in the socket's own lookup, once per new connection. An IP
        // literal bypasses that lookup, so it is checked here (no DNS involved: cheap per request).
        if (isIP(request.url.hostname.replace(/^\[|\]$/g, ""))) await options.guard.check(request.url.hostname);
        const response = await agent.request({
          origin: request.url.origin,
          path: request.url.pathname + request.url.search,
          method: request.method,
          headers: request.headers,
          body: request.body,
          signal: abort,
        });
        const length = response.statusCode === 204 || response.statusCode === 304 ? 0 : Number(response.headers["content-length"] ?? NaN);
        // A declared length within the cap is read whole; otherwise chunks are kept up to the cap.
        const body =
          length <= options.maxResponseBytes ? await response.body.text() : await readCapped(response.body, options.maxResponseBytes);
        const succeeded = response.statusCode >= 200 && response.statusCode < 300;
        return {
          succeeded,
          status: response.statusCode,
          headers: flattenHeaders(response.headers),
          body,
          errorClass: succeeded ? null : "HTTP_STATUS",
          errorMessage: succeeded ? null : `HTTP ${response.statusCode}`,
          durationMs: elapsed(),
        };
      } catch (error) {
        const errorClass = abort.aborted && !timedOut ? "ABORTED" : classify(error, timedOut);
        return {
          succeeded: false,
          status: null,
          headers: null,
          body: null,
          errorClass,
          errorMessage: describe(error, errorClass, options.totalTimeoutMs),
          durationMs: elapsed(),
        };
      } finally {
        clearTimeout(timer);
      }
    },
    close: () => agent.close(),
  };
}

async function readCapped(body: AsyncIterable<Buffer> & { destroy(): void }, max: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    if (size + chunk.length >= max) {
      chunks.push(chunk.subarray(0, max - size));
      size = max;
      body.destroy(); // the rest is not kept, and not waited for
      break;
    }
    chunks.push(chunk);
    size += chunk.length;
  }
  return Buffer.concat(chunks).toString("utf8");
}

function flattenHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(", ") : value;
  }
  return out;
}

function errorCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string") return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

function classify(error: unknown, timedOut: boolean): ErrorClass {
  if (error instanceof BlockedTargetError || errorCode(error) === "HOOKGATE_BLOCKED_TARGET") return "BLOCKED_TARGET";
  if (timedOut) return "TIMEOUT";
  if (
    error instanceof undiciErrors.ConnectTimeoutError ||
    error instanceof undiciErrors.HeadersTimeoutError ||
    error instanceof undiciErrors.BodyTimeoutError
  ) {
    return "TIMEOUT";
  }
  const code = errorCode(error) ?? "";
  if (code === "ECONNREFUSED") return "CONNECTION_REFUSED";
  if (code === "ECONNRESET" || code === "EPIPE" || code === "UND_ERR_SOCKET") return "CONNECTION_RESET";
  if (code === "ENOTFOUND" || code === "EAI_AGAIN" || code === "EAI_NONAME") return "DNS";
  if (code.startsWith("ERR_TLS") || code.startsWith("ERR_SSL") || /CERT|SELF_SIGNED|UNABLE_TO_VERIFY/.test(code)) return "TLS";
  if (code === "ETIMEDOUT" || code === "UND_ERR_CONNECT_TIMEOUT") return "TIMEOUT";
  return "NETWORK";
}

function describe(error: unknown, errorClass: ErrorClass, totalTimeoutMs: number): string {
  if (errorClass === "TIMEOUT") return `no complete response within ${totalTimeoutMs} ms`;
  const message = error instanceof Error ? error.message : String(error);
  const code = errorCode(error);
  return code && !message.includes(code) ? `${code}: ${message}` : message;
}
