import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { expect } from "vitest";

const CLI = fileURLToPath(new URL("../../bin/hookgate.js", import.meta.url));

export interface HookgateProcess {
  readonly child: ChildProcess;
  /** Everything it printed, for failure messages. */
  output(): string;
  /** Resolves with the exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>;
  /** True until the process exits. */
  alive(): boolean;
  /** Resolves with the first match of pattern in its output, or rejects when it exits or timeoutMs passes. */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** SIGTERM, and wait for exit. */
  stop(): Promise<number | null>;
  kill(signal: NodeJS.Signals): Promise<void>;
}

/**
 * Runs `hookgate <command> [args…]` as a real child process with the given environment; `cli`
 * names another checkout's bin/hookgate.js (the previous release, test/upgrade).
 */
export function runHookgate(command: string, env: Record<string, string>, args: readonly string[] = [], cli = CLI): HookgateProcess {
  const child = spawn(process.execPath, [cli, command, ...args], {
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let running = true;
  const listeners = new Set<() => void>();
  const changed = () => {
    for (const listener of listeners) listener();
  };
  child.stdout!.on("data", (d: Buffer) => {
    out += d.toString();
    changed();
  });
  child.stderr!.on("data", (d: Buffer) => {
    out += d.toString();
    changed();
  });
  // "close", not "exit": by then every byte it printed has been read.
  const exited = new Promise<number | null>((resolve) =>
    child.once("close", (code) => {
      running = false;
      changed();
      resolve(code);
    }),
  );
  return {
    child,
    output: () => out,
    exited,
    alive: () => running,
    waitForOutput: (pattern, timeoutMs = 60_000) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => finish(new Error(`no output matching ${pattern} within ${timeoutMs} ms:\n${out}`)), timeoutMs);
        const check = () => {
          const match = out.match(pattern);
          if (match) finish(undefined, match);
          else if (!running) finish(new Error(`exited without output matching ${pattern}:\n${out}`));
        };
        function finish(error?: Error, match?: RegExpMatchArray) {
          clearTimeout(timer);
          listeners.delete(check);
          if (error) reject(error);
          else resolve(match!);
        }
        listeners.add(check);
        check();
      }),
    stop: async () => {
      if (running) child.kill("SIGTERM");
      return exited;
    },
    kill: async (signal) => {
      if (running) child.kill(signal);
      await exited;
    },
  };
}

/**
 * The environment of a `hookgate worker` beside a test gateway (test/support/gateway.ts): its
 * database and encryption key, loopback receivers allowed, quiet, polling often; `extra` wins.
 */
export function workerEnv(
  gateway: { readonly store: { readonly url?: string }; readonly config: { readonly HOOKGATE_ENCRYPTION_KEY?: string } },
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    DATABASE_URL: gateway.store.url!,
    HOOKGATE_ENCRYPTION_KEY: gateway.config.HOOKGATE_ENCRYPTION_KEY!,
    HOOKGATE_ALLOW_PRIVATE_TARGETS: "true",
    HOOKGATE_LOG_LEVEL: "warn",
    HOOKGATE_POLL_MS: "50",
    ...extra,
  };
}

/** Runs `hookgate <command> [args…]` to its end: the exit code and everything it printed. */
export async function runToExit(command: readonly string[], env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const child = runHookgate(command[0] ?? "", env, command.slice(1));
  const code = await child.exited;
  return { code, output: child.output() };
}

/** A refused start as an operator should meet it: exit code 2 and exactly one line, with no stack trace in it. */
export function expectOneLine(result: { code: number | null; output: string }, pattern: RegExp): void {
  expect(result.code, result.output).toBe(2);
  const lines = result.output.trim().split("\n");
  expect(lines, result.output).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
  expect(result.output).not.toMatch(/\n\s+at /);
}
