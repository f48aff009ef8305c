import { closeSync, lstatSync, mkdirSync, openSync, unlinkSync, chmodSync } from "node:fs";
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { join, relative, resolve } from "node:path";
import { ConfigError } from "../config.js";
import { dataDirProblem } from "./database.js";

/**
 * One process at a time on an embedded (PGlite) data directory.
 *
 * PGlite is a single-process database: a second process on the same files corrupts them. The
 * holder binds a Unix domain socket, `<dataDir>/hookgate.sock`. The kernel closes the socket
 * when its process dies (kill -9 included), so a second opener tells a live holder from a stale
 * file by connecting: connected means a live holder (which answers with its pid, command, role
 * and URL); ECONNREFUSED means a stale file, which is removed and bound again. bind() is atomic,
 * and the removal of a stale file happens under an exclusive-create guard file, so two
 * starters cannot both win. A PID file could not tell a live holder from a recycled pid (in a
 * container every first process is pid 1).
 *
 * The socket is also how `hookgate token` reaches a running gateway: requests are one JSON line,
 * answered by one JSON line. It is created with mode 0600, so only the data directory's owner
 * can use it.
 */

/** Who holds the data directory, as the holder reports it. */
export interface Holder {
  readonly pid: number;
  /** The hookgate command it runs: start, worker, migrate, token, replay. */
  readonly command: string;
  readonly role?: string | undefined;
  /** Its GraphQL endpoint, once it listens. */
  readonly url?: string | undefined;
}

export type LockRequest = Readonly<Record<string, unknown>> & { readonly op: string };
export type LockAnswer = Readonly<Record<string, unknown>>;
type Handler = (request: LockRequest) => Promise<LockAnswer>;

export interface DataDirLock {
  /** Adds to what this holder reports (the URL, once it listens). */
  describe(update: Partial<Omit<Holder, "pid">>): void;
  /** Answers requests of one op from other processes (for example: mint an admin token). */
  handle(op: string, handler: Handler): void;
  /** Closes the socket and removes its file (only if it is still this holder's). */
  release(): Promise<void>;
}

/** The data directory is held by another live process. */
export class DataDirInUse extends Error {
  override name = "DataDirInUse";
  constructor(
    readonly dataDir: string,
    /** Undefined when the holder accepted the connection but did not answer. */
    readonly holder: Holder | undefined,
  ) {
    super(`HOOKGATE_DATA_DIR ${dataDir} is in use by ${describeHolder(holder)}`);
  }
}

/** A data directory whose lock socket cannot be used at all (path too long, not ours). */
export class DataDirLockError extends Error {
  override name = "DataDirLockError";
}

export const SOCKET_NAME = "hookgate.sock";
/** Bytes a Unix socket path may have (sun_path is 108 on Linux, 104 on macOS, NUL included). */
const MAX_SOCKET_PATH = 103;
/** A takeover guard older than this was left by a process that died inside the takeover (milliseconds long). */
const STALE_GUARD_MS = 10_000;
const ANSWER_TIMEOUT_MS = 15_000;
const MAX_LINE = 16 * 1024;

export function describeHolder(holder: Holder | undefined): string {
  if (!holder) return "another process (it accepted a connection on the lock socket but did not answer)";
  const parts = [`pid ${holder.pid}`];
  if (holder.role) parts.push(`role ${holder.role}`);
  parts.push(holder.url ?? (holder.command === "start" || holder.command === "worker" ? "starting" : "no HTTP"));
  return `hookgate ${holder.command} (${parts.join(", ")})`;
}

/** The socket's address: the shorter of its absolute and relative path (sun_path is short). */
export function socketAddress(dataDir: string): string {
  const absolute = resolve(dataDir, SOCKET_NAME);
  const rel = relative(process.cwd(), absolute) || SOCKET_NAME;
  const address = Buffer.byteLength(rel) < Buffer.byteLength(absolute) ? (rel.includes("/") ? rel : `./${rel}`) : absolute;
  if (Buffer.byteLength(address) > MAX_SOCKET_PATH) {
    throw new DataDirLockError(
      `HOOKGATE_DATA_DIR is too long for its lock socket: ${absolute} has ${Buffer.byteLength(absolute)} bytes, at most ${MAX_SOCKET_PATH} fit in a Unix socket address (use a shorter path, or start from a nearer working directory)`,
    );
  }
  return address;
}

/**
 * Takes the data directory for this process, or throws DataDirInUse naming the live holder.
 * The directory is created (mode 0700) if missing.
 */
export async function lockDataDir(dataDir: string, holder: Omit<Holder, "pid">): Promise<DataDirLock> {
  try {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw new ConfigError(`HOOKGATE_DATA_DIR ${dataDir} cannot hold the embedded database: ${dataDirProblem(error)}`);
  }
  const address = socketAddress(dataDir);
  const guard = join(dataDir, `${SOCKET_NAME}.takeover`);
  let info: Holder = { ...holder, pid: process.pid };
  const handlers = new Map<string, Handler>();
  const server = createServer((socket) => serve(socket, () => info, handlers));
  server.on("error", () => undefined); // errors after listening are per connection

  for (let tries = 0; ; tries++) {
    if (tries > 200) throw new DataDirLockError(`HOOKGATE_DATA_DIR ${dataDir}: could not take ${SOCKET_NAME} (another process keeps replacing it)`);
    if (await bind(server, address)) break;
    // Something is at the address: a live holder, or a file left by a holder that died.
    const found = await probe(address);
    if (found.state === "live") throw new DataDirInUse(dataDir, found.holder);
    if (found.state === "gone") continue; // removed meanwhile: bind again
    // Stale. Remove it under the guard, so two starters cannot each remove the other's fresh socket.
    let fd: number;
    try {
      fd = openSync(guard, "wx", 0o600);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      if (Date.now() - mtime(guard) > STALE_GUARD_MS) removeFile(guard);
      await new Promise((r) => setTimeout(r, 20));
      continue;
    }
    try {
      const again = await probe(address);
      if (again.state === "live") throw new DataDirInUse(dataDir, again.holder);
      removeFile(address);
      if (await bind(server, address)) break;
    } finally {
      closeSync(fd);
      removeFile(guard);
    }
  }
  chmodSync(address, 0o600);
  const inode = lstatSync(address).ino;

  let released: Promise<void> | undefined;
  return {
    describe(update) {
      info = { ...info, ...update };
    },
    handle(op, handler) {
      handlers.set(op, handler);
    },
    release: () =>
      (released ??= (async () => {
        await new Promise<void>((done) => server.close(() => done()));
        // Only our own file: after a takeover the path may name another holder's socket.
        try {
          if (lstatSync(address).ino === inode) unlinkSync(address);
        } catch {
          // already gone
        }
      })()),
  };
}

/**
 * Sends one request to the process holding the data directory and returns its answer.
 * Undefined when no live process holds it.
 */
export async function askHolder(dataDir: string, request: LockRequest, timeoutMs = ANSWER_TIMEOUT_MS): Promise<LockAnswer | undefined> {
  const address = socketAddress(dataDir);
  const socket = await connect(address);
  if (!socket) return undefined;
  return exchange(socket, request, timeoutMs);
}

/** Binds the socket (mode 0600 from the first moment: the umask is narrowed around bind). */
function bind(server: Server, address: string): Promise<boolean> {
  return new Promise((resolveBind, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      server.off("listening", onListening);
      if (error.code === "EADDRINUSE") resolveBind(false);
      else reject(new DataDirLockError(`HOOKGATE_DATA_DIR: cannot bind its lock socket ${address}: ${error.message}`));
    };
    const onListening = () => {
      server.off("error", onError);
      resolveBind(true);
    };
    server.once("error", onError);
    server.once("listening", onListening);
    const umask = process.umask(0o177);
    try {
      server.listen({ path: address, exclusive: true });
    } finally {
      process.umask(umask);
    }
  });
}

type Probe = { state: "live"; holder: Holder | undefined } | { state: "stale" } | { state: "gone" };

async function probe(address: string): Promise<Probe> {
  let socket: Socket | undefined;
  try {
    socket = await connect(address);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ECONNREFUSED") return { state: "stale" };
    throw error;
  }
  if (!socket) return { state: "gone" };
  try {
    const answer = await exchange(socket, { op: "who" }, ANSWER_TIMEOUT_MS);
    const holder = answer.holder as Holder | undefined;
    return { state: "live", holder: holder && typeof holder.pid === "number" ? holder : undefined };
  } catch {
    return { state: "live", holder: undefined };
  }
}

/** A connection, undefined when there is no socket file; ECONNREFUSED (stale) is thrown. */
function connect(address: string): Promise<Socket | undefined> {
  return new Promise((resolveConnect, reject) => {
    const socket = createConnection({ path: address });
    socket.once("connect", () => {
      socket.off("error", onError);
      resolveConnect(socket);
    });
    const onError = (error: NodeJS.ErrnoException) => {
      socket.destroy();
      if (error.code === "ENOENT") resolveConnect(undefined);
      else if (error.code === "ECONNREFUSED") reject(error);
      else reject(new DataDirLockError(`HOOKGATE_DATA_DIR: cannot connect to its lock socket ${address}: ${error.message}`));
    };
    socket.once("error", onError);
  });
}

/** Writes one JSON line and reads one back. */
function exchange(socket: Socket, request: LockRequest, timeoutMs: number): Promise<LockAnswer> {
  return new Promise((resolveAnswer, reject) => {
    let buffer = "";
    const timer = setTimeout(() => finish(new Error(`no answer on the lock socket within ${timeoutMs} ms`)), timeoutMs);
    const finish = (error?: Error, answer?: LockAnswer) => {
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolveAnswer(answer!);
    };
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      buffer += chunk;
      const end = buffer.indexOf("\n");
      if (end < 0) {
        if (buffer.length > MAX_LINE) finish(new Error("answer on the lock socket too long"));
        return;
      }
      try {
        finish(undefined, JSON.parse(buffer.slice(0, end)) as LockAnswer);
      } catch (error) {
        finish(error as Error);
      }
    });
    socket.once("error", (error) => finish(error));
    socket.once("close", () => finish(new Error("the lock socket closed without an answer")));
    socket.write(JSON.stringify(request) + "\n");
  });
}

/** The holder's side: one request line per connection, one answer line, then close. */
function serve(socket: Socket, info: () => Holder, handlers: ReadonlyMap<string, Handler>): void {
  let buffer = "";
  let answered = false;
  socket.setEncoding("utf8");
  socket.setTimeout(ANSWER_TIMEOUT_MS * 6, () => socket.destroy());
  socket.on("error", () => socket.destroy());
  const answer = (body: LockAnswer) => {
    if (!socket.destroyed) socket.end(JSON.stringify({ holder: info(), ...body }) + "\n");
  };
  socket.on("data", (chunk: string) => {
    if (answered) return;
    buffer += chunk;
    const end = buffer.indexOf("\n");
    if (end < 0) {
      if (buffer.length > MAX_LINE) socket.destroy();
      return;
    }
    answered = true;
    let request: LockRequest;
    try {
      request = JSON.parse(buffer.slice(0, end)) as LockRequest;
      if (typeof request !== "object" || request === null || typeof request.op !== "string") throw new Error("no op");
    } catch {
      return answer({ ok: false, error: "not a request" });
    }
    if (request.op === "who") return answer({ ok: true });
    const handler = handlers.get(request.op);
    if (!handler) return answer({ ok: false, error: `hookgate ${info().command} (pid ${info().pid}) does not do "${request.op}"` });
    handler(request).then(
      (result) => answer({ ok: true, ...result }),
      (error: unknown) => answer({ ok: false, error: error instanceof Error ? error.message : String(error) }),
    );
  });
}

function mtime(path: string): number {
  try {
    return lstatSync(path).mtimeMs;
  } catch {
    return Date.now();
  }
}

function removeFile(path: string): void {
  try {
    unlinkSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
}
