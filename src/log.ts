import { pino, type Logger } from "pino";

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

export function createLogger(level: string): Logger {
  return pino({ level, redact: { paths: redact, censor: "[redacted]" }, base: { app: "hookgate" } });
}
