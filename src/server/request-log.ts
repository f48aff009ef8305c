import { AsyncLocalStorage } from "node:async_hooks";
import { randomUUID } from "node:crypto";
import type { Logger } from "../log.js";

/**
 * The logger of the HTTP request being handled: the gateway's logger with the request id bound,
 * so every line written while handling a request (resolver errors included) names it.
 */
const current = new AsyncLocalStorage<Logger>();

export function withRequestLogger<T>(logger: Logger, fn: () => T): T {
  return current.run(logger, fn);
}

/** The request's logger inside withRequestLogger, else the fallback (websocket operations, background work). */
export function requestLogger(fallback: Logger): Logger {
  return current.getStore() ?? fallback;
}

/** Ids a client may choose: short, and only characters that are safe in logs and headers. */
const WELL_FORMED = /^[A-Za-z0-9._:-]{1,128}$/;

/** The client's x-request-id when it is well-formed, else a new UUID. */
export function requestIdFrom(header: string | string[] | undefined): string {
  const given = Array.isArray(header) ? header[0] : header;
  return given !== undefined && WELL_FORMED.test(given) ? given : randomUUID();
}
