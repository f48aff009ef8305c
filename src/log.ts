import { pino, type DestinationStream, type Logger } from "pino";

export type { Logger };

/** Paths that may carry secrets; pino replaces them before anything is written. */
const redact = [
  "authorization",
  "*.authorization",
  "headers.authorization",
  "req.headers.authorization",
  "token",
  "*.token",
  "secret",
  "*.secret",
  "password",
  "*.password",
];

/** A logger writing JSON lines to stdout, or to `destination` (tests read what was logged). */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options = { level, redact: { paths: redact, censor: "[redacted]" }, base: { app: "hookgate" } };
  return destination ? pino(options, destination) : pino(options);
}
