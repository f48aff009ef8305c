import { createHash } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { extname, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

/** Where `npm run console:build` (run by npm install) writes the console; gitignored. */
export const CONSOLE_DIST = fileURLToPath(new URL("../../console/dist/", import.meta.url));

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".json": "application/json; charset=utf-8",
  ".txt": "text/plain; charset=utf-8",
  ".woff2": "font/woff2",
};

interface Asset {
  readonly type: string;
  readonly body: Buffer;
  readonly gzip: Buffer | undefined;
  readonly etag: string;
  /** Vite's hashed files (assets/…) never change under their name. */
  readonly immutable: boolean;
}

type Assets = ReadonlyMap<string, Asset>;

/**
 * The built console, read once into memory (it is small) with a gzip copy of each text file.
 * Only files found under the build directory are ever served, so no request path can reach
 * another file. Absent (not built): undefined, and looked for again at the next request.
 */
function loadAssets(dir: string): Assets | undefined {
  try {
    if (!statSync(join(dir, "index.html")).isFile()) return undefined;
  } catch {
    return undefined;
  }
  const assets = new Map<string, Asset>();
  const walk = (folder: string) => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      const full = join(folder, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile()) {
        const type = TYPES[extname(entry.name).toLowerCase()];
        if (!type) continue;
        const body = readFileSync(full);
        const name = relative(dir, full).split(sep).join("/");
        const compressible = !type.startsWith("image/png") && !type.startsWith("font/");
        assets.set(name, {
          type,
          body,
          gzip: compressible && body.length > 512 ? gzipSync(body, { level: 9 }) : undefined,
          etag: `"${createHash("sha256").update(body).digest("base64url").slice(0, 22)}"`,
          immutable: name.startsWith("assets/"),
        });
      }
    }
  };
  walk(dir);
  return assets;
}

/**
 * Content-Security-Policy: scripts, styles, images and connections from this origin only (plus
 * the websocket to this same host, which CSP's 'self' does not cover in every browser); no
 * plugins, no <base>; framed only by HOOKGATE_CONSOLE_FRAME_ANCESTORS (default: by no one). Receiver responses are shown as text, never as markup.
 */
function contentSecurityPolicy(host: string | undefined, frameAncestors: readonly string[]): string {
  // The Host header is the client's word: only a plain host[:port] goes into the header.
  const self = host && /^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/.test(host) ? ` ws://${host} wss://${host}` : "";
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    `connect-src 'self'${self}`,
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    // HOOKGATE_CONSOLE_FRAME_ANCESTORS: the platforms that embed the console (validated origins).
    `frame-ancestors ${frameAncestors.join(" ")}`,
  ].join("; ");
}

export interface ConsoleHandler {
  /**
   * Answers a request for /console or /console/…; the caller routes only those here.
   * frameAncestors: who may frame it (HOOKGATE_CONSOLE_FRAME_ANCESTORS).
   */
  serve(req: IncomingMessage, res: ServerResponse, path: string, frameAncestors?: readonly string[]): void;
}

/**
 * Serves the console at /console: built files under their own names, and index.html for every
 * other path under /console/ (the app routes on the client), except missing files under
 * /console/assets/, which are 404 (a stale page asking for an old chunk must not get HTML).
 */
export function createConsoleHandler(dir: string = CONSOLE_DIST): ConsoleHandler {
  let assets: Assets | undefined;
  return {
    serve(req, res, path, frameAncestors = ["'none'"]) {
      if (req.method !== "GET" && req.method !== "HEAD") {
        return void res.writeHead(405, { allow: "GET, HEAD", "content-type": "text/plain" }).end("use GET\n");
      }
      if (path === "/console") return void res.writeHead(308, { location: "/console/" }).end();
      assets ??= loadAssets(dir);
      if (!assets) {
        return void res
          .writeHead(503, { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" })
          .end("The console is not built: run `npm run console:build` (npm install does it).\n");
      }
      const name = decodeSafely(path.slice("/console/".length));
      let asset = name !== undefined ? assets.get(name) : undefined;
      if (!asset && (name === undefined || name.startsWith("assets/"))) {
        return void res.writeHead(404, { "content-type": "text/plain; charset=utf-8" }).end("not found\n");
      }
      asset ??= assets.get("index.html")!;
      const headers: Record<string, string> = {
        "content-type": asset.type,
        "cache-control": asset.immutable ? "public, max-age=31536000, immutable" : "no-cache",
        etag: asset.etag,
        vary: "accept-encoding",
        "x-content-type-options": "nosniff",
        "referrer-policy": "no-referrer",
        "content-security-policy": contentSecurityPolicy(req.headers.host, frameAncestors),
      };
      if (req.headers["if-none-match"] === asset.etag) return void res.writeHead(304, headers).end();
      const gzip = asset.gzip && /\bgzip\b/.test(String(req.headers["accept-encoding"] ?? ""));
      const body = gzip ? asset.gzip! : asset.body;
      if (gzip) headers["content-encoding"] = "gzip";
      headers["content-length"] = String(body.length);
      res.writeHead(200, headers).end(req.method === "HEAD" ? undefined : body);
    },
  };
}

function decodeSafely(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}
