import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";

export interface Received {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** What the receiver does with a request: answer, never answer, or drop the connection. */
export type Reply = { status: number; headers?: Record<string, string>; body?: string | Buffer; delayMs?: number } | "hang" | "reset";

export interface Receiver {
  /** http://127.0.0.1:<port><path> */
  url(path?: string): string;
  readonly requests: Received[];
  /** Replace the behaviour; the default answers 200. */
  reply(fn: (request: Received) => Reply): void;
  close(): Promise<void>;
}

/** A real HTTP server on 127.0.0.1 that records every request. */
export async function startReceiver(initial: (request: Received) => Reply = () => ({ status: 200, body: "ok" })): Promise<Receiver> {
  let behaviour = initial;
  const requests: Received[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const received: Received = {
        method: req.method ?? "",
        path: req.url ?? "",
        headers: req.headers,
        body: Buffer.concat(chunks).toString("utf8"),
      };
      requests.push(received);
      const reply = behaviour(received);
      if (reply === "hang") return;
      if (reply === "reset") return void req.socket.destroy();
      const send = () => res.writeHead(reply.status, reply.headers ?? { "content-type": "text/plain" }).end(reply.body ?? "");
      if (reply.delayMs) setTimeout(send, reply.delayMs);
      else send();
    });
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: (path = "/hook") => `http://127.0.0.1:${port}${path}`,
    requests,
    reply: (fn) => {
      behaviour = fn;
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * Polls until check() returns a value that is not undefined/false, or fails after timeoutMs
 * (with what describe() says about the state then, if given).
 */
export async function eventually<T>(
  check: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 10_000,
  describe?: () => string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      const state = describe ? ` (${describe()})` : "";
      throw new Error(`condition not met within ${timeoutMs} ms${state}${last ? `: ${String(last)}` : ""}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
