import type { IncomingMessage, ServerResponse } from "node:http";

// Reading a request's body under HOOKGATE_MAX_BODY_BYTES: shared by GraphQL (http.ts) and the
// REST routes (rest/router.ts), so both refuse an oversized body the same way.

export const TOO_LARGE = Symbol("too large");

/** The whole body, or TOO_LARGE as soon as Content-Length or the bytes received pass the limit. */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer | typeof TOO_LARGE> {
  const declared = req.headers["content-length"];
  if (declared !== undefined && Number(declared) > limit) return Promise.resolve(TOO_LARGE);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        // Chunked (or lying about its length): stop keeping what arrives.
        req.off("data", onData);
        chunks.length = 0;
        resolve(TOO_LARGE);
        return;
      }
      chunks.push(chunk);
    };
    req.on("data", onData);
    req.once("end", () => resolve(Buffer.concat(chunks, size)));
    req.once("error", reject);
  });
}

/**
 * Sends a 413 answer and closes the connection once it is out, so the rest of an oversized body
 * is discarded rather than read.
 */
export function answerTooLarge(req: IncomingMessage, res: ServerResponse, contentType: string, body: string): void {
  req.resume();
  res.once("finish", () => setTimeout(() => req.socket.destroy(), 1_000).unref());
  res.writeHead(413, { "content-type": contentType, connection: "close" }).end(body);
}
