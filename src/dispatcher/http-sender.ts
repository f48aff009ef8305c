import { isUtf8 } from "node:buffer";
import { isIP } from "node:net";
import { Agent, errors as undiciErrors, type Dispatcher } from "undici";
import type { TargetGuard } from "./target-guard.js";
import { BlockedTargetError } from "./target-guard.js";

/** What one attempt sends. Headers as a flat [name, value, name, value, …] list, as undici takes them. */
export interface OutgoingRequest {
  readonly url: URL;
  readonly method: "POST" | "PUT" | "PATCH";
  readonly headers: string[];
  readonly body: string;
}

/** Ends an attempt early (shutdown, or its total timeout). Cheaper per attempt than an AbortController. */
export class AttemptAbort {
  aborted = false;
  /** Set by the sender while the attempt runs. */
  onAbort: (() => void) | undefined = undefined;
  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    this.onAbort?.();
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
  /** Not sent: the webhook's sealed secrets do not open with this process's key (the dispatcher records it). */
  | "SECRET_UNREADABLE"
  | "ABORTED";

/** What came back, or why nothing did. */
export interface AttemptOutcome {
  readonly succeeded: boolean;
  readonly status: number | null;
  readonly headers: Record<string, string> | null;
  readonly body: string | null;
  /** null: body is the bytes as UTF-8 text. "base64": they were not text PostgreSQL can hold (see responseText). */
  readonly bodyEncoding: "base64" | null;
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
/** What a URL means to the sender, worked out once per URL object (a prepared webhook keeps its own). */
interface Target {
  readonly origin: string;
  readonly path: string;
  /** Pending for an IP literal until the guard has checked it once (no DNS: the verdict never changes). */
  check: Promise<void> | undefined;
}

/**
 * undici with one keep-alive pool per origin (Agent), connect and total timeouts,
 * redirects not followed (a 3xx is a failed attempt), and the SSRF guard in the socket lookup.
 * Requests go through undici's handler-level dispatch(): the response is taken as callbacks,
 * without a stream object per response.
 */
export function createHttpSender(options: HttpSenderOptions): HttpSender {
  const agent = new Agent({
    connect: { timeout: options.connectTimeoutMs, lookup: options.guard.lookup },
    connections: options.connections ?? 128,
    keepAliveTimeout: 30_000,
    headersTimeout: options.totalTimeoutMs,
    bodyTimeout: options.totalTimeoutMs,
  });
  const targets = new WeakMap<URL, Target>();
  const targetOf = (url: URL): Target => {
    let target = targets.get(url);
    if (!target) {
      // A host name is checked in the socket's own lookup, once per new connection. An IP
      // literal bypasses that lookup, so it is checked here, once.
      const literal = isIP(url.hostname.replace(/^\[|\]$/g, "")) !== 0;
      const t: Target = { origin: url.origin, path: url.pathname + url.search, check: undefined };
      if (literal) {
        const check = options.guard.check(url.hostname);
        t.check = check;
        check.then(
          () => (t.check = undefined),
          () => undefined, // stays rejected: every attempt to it fails the same way
        );
      }
      targets.set(url, (target = t));
    }
    return target;
  };

  return {
    send(request, abort) {
      const started = performance.now();
      const target = targetOf(request.url);
      if (!target.check) return dispatch(agent, target, request, abort, started, options);
      return target.check.then(
        () => dispatch(agent, target, request, abort, started, options),
        (error: unknown) => failure(error, "BLOCKED_TARGET", started, options.totalTimeoutMs),
      );
    },
    close: () => agent.close(),
  };
}

// A module-level function, not a closure made per call: tsx (esbuild keepNames) wraps every
// named closure in a __name() call, which costs on a path taken once per delivery.
function dispatch(
  agent: Agent,
  target: { origin: string; path: string },
  request: OutgoingRequest,
  abort: AttemptAbort,
  started: number,
  options: { maxResponseBytes: number; totalTimeoutMs: number },
): Promise<AttemptOutcome> {
  return new Promise<AttemptOutcome>((resolve) => {
    const handler = new AttemptHandler(started, options.maxResponseBytes, options.totalTimeoutMs, abort, resolve);
    agent.dispatch({ origin: target.origin, path: target.path, method: request.method, headers: request.headers, body: request.body }, handler);
  });
}

/** One attempt's response, taken from undici's handler callbacks; resolves exactly once. */
class AttemptHandler implements Dispatcher.DispatchHandler {
  private cancel: ((reason: Error) => void) | undefined;
  private status = 0;
  private headers: Record<string, string> | null = null;
  private chunks: Buffer[] | undefined;
  private size = 0;
  /** The body reached the cap and the rest was given up (the connection with it). */
  private capped = false;
  private timedOut = false;
  private settled = false;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly started: number,
    private readonly maxBytes: number,
    private readonly timeoutMs: number,
    private readonly abort: AttemptAbort,
    private readonly resolve: (outcome: AttemptOutcome) => void,
  ) {
    // The caller's abort also carries the total timeout: one abort path per attempt.
    this.timer = setTimeout(() => {
      this.timedOut = true;
      abort.abort();
    }, timeoutMs);
    abort.onAbort = () => this.cancel?.(new undiciErrors.RequestAbortedError());
  }

  onConnect(cancel: (reason: Error) => void): void {
    if (this.abort.aborted) cancel(new undiciErrors.RequestAbortedError());
    else this.cancel = cancel;
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[]): boolean {
    if (statusCode < 200) return true; // 1xx: the response is still to come
    this.status = statusCode;
    this.headers = parseHeaders(rawHeaders);
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.size + chunk.length > this.maxBytes) {
      // Kept up to the cap; the rest is not read, and not waited for.
      (this.chunks ??= []).push(chunk.subarray(0, this.maxBytes - this.size));
      this.size = this.maxBytes;
      this.capped = true;
      this.cancel?.(new Error("response body over the size kept"));
      return false;
    }
    (this.chunks ??= []).push(chunk);
    this.size += chunk.length;
    return true;
  }

  onComplete(): void {
    this.answered();
  }

  onError(error: Error): void {
    if (this.capped) return this.answered();
    if (this.settled) return;
    const errorClass = this.abort.aborted && !this.timedOut ? "ABORTED" : classify(error, this.timedOut);
    this.finish(failure(error, errorClass, this.started, this.timeoutMs));
  }

  private answered(): void {
    const status = this.status;
    const succeeded = status >= 200 && status < 300;
    const chunks = this.chunks;
    const text = chunks ? responseText(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)) : EMPTY_BODY;
    this.finish({
      succeeded,
      status,
      headers: this.headers,
      body: text.body,
      bodyEncoding: text.encoding,
      errorClass: succeeded ? null : "HTTP_STATUS",
      errorMessage: succeeded ? null : `HTTP ${status}`,
      durationMs: Math.round(performance.now() - this.started),
    });
  }

  private finish(outcome: AttemptOutcome): void {
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.timer);
    this.abort.onAbort = undefined;
    this.resolve(outcome);
  }
}

const EMPTY_BODY = { body: "", encoding: null } as const;

/**
 * A response body as the attempt log keeps it, losslessly: valid UTF-8 without NUL as that
 * text, any other bytes (binary, UTF-16, invalid UTF-8, a NUL, which PostgreSQL text and json
 * cannot hold) as base64, marked. Decoding with replacement characters would lose bytes, and a
 * NUL would make the whole batch's record fail.
 */
export function responseText(bytes: Buffer): { body: string; encoding: "base64" | null } {
  if (bytes.indexOf(0) === -1 && isUtf8(bytes)) return { body: bytes.toString("utf8"), encoding: null };
  return { body: bytes.toString("base64"), encoding: "base64" };
}

function failure(error: unknown, errorClass: ErrorClass, started: number, totalTimeoutMs: number): AttemptOutcome {
  return {
    succeeded: false,
    status: null,
    headers: null,
    body: null,
    bodyEncoding: null,
    errorClass,
    errorMessage: describe(error, errorClass, totalTimeoutMs),
    durationMs: Math.round(performance.now() - started),
  };
}

/** Response headers as the attempt log keeps them: lower-case names, repeated ones joined with ", ". */
function parseHeaders(raw: Buffer[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toString("latin1").toLowerCase();
    const value = raw[i + 1]!.toString("latin1");
    if (Object.hasOwn(out, name)) out[name] += `, ${value}`;
    else if (name === "__proto__") Object.defineProperty(out, name, { value, enumerable: true, configurable: true, writable: true });
    else out[name] = value;
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
