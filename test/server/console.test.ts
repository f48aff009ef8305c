import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { createConsoleHandler } from "../../src/server/console.js";
import { ensureConsoleBuilt } from "../support/browser.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";

// How the gateway serves the console: through the real gateway for the routing, and through the
// handler over a directory of known files for the exact headers and bodies.
describe("the console's files", () => {
  let dir: string;
  let server: Server;
  let origin: string;
  const script = "console.log('hookgate');\n".repeat(100);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "hookgate-console-"));
    mkdirSync(join(dir, "assets"));
    writeFileSync(join(dir, "index.html"), "<!doctype html><title>console</title>");
    writeFileSync(join(dir, "assets", "index-abc123.js"), script);
    writeFileSync(join(dir, "assets", "index-abc123.css"), "body{}");
    writeFileSync(join(dir, "secret.env"), "not served: unknown type");
    const handler = createConsoleHandler(dir);
    server = createServer((req, res) => handler.serve(req, res, (req.url ?? "/").split("?")[0]!));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  it("serves hashed assets with their type, for a year, gzipped when asked", async () => {
    const plain = await fetch(`${origin}/console/assets/index-abc123.js`, { headers: { "accept-encoding": "identity" } });
    expect(plain.status).toBe(200);
    expect(plain.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect(plain.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    expect(plain.headers.get("x-content-type-options")).toBe("nosniff");
    expect(await plain.text()).toBe(script);

    const raw = await rawGet(`${origin}/console/assets/index-abc123.js`, { "accept-encoding": "gzip" });
    expect(raw.headers["content-encoding"]).toBe("gzip");
    expect(gunzipSync(raw.body).toString()).toBe(script);
    expect(raw.body.length).toBeLessThan(script.length / 10);

    const css = await fetch(`${origin}/console/assets/index-abc123.css`);
    expect(css.headers.get("content-type")).toBe("text/css; charset=utf-8");
  });

  it("answers every app path with index.html, never cached, under a CSP of 'self' and its own websocket", async () => {
    for (const path of ["/console/", "/console/webhooks/12/deliveries", "/console/services"]) {
      const response = await fetch(`${origin}${path}`);
      expect(response.status, path).toBe(200);
      expect(response.headers.get("content-type")).toBe("text/html; charset=utf-8");
      expect(response.headers.get("cache-control")).toBe("no-cache");
      expect(await response.text()).toContain("<title>console</title>");
    }
    const host = new URL(origin).host;
    const csp = (await fetch(`${origin}/console/`)).headers.get("content-security-policy")!;
    expect(csp.split("; ")).toEqual([
      "default-src 'self'",
      "script-src 'self'",
      "style-src 'self'",
      "img-src 'self' data:",
      `connect-src 'self' ws://${host} wss://${host}`,
      "object-src 'none'",
      "base-uri 'none'",
      "form-action 'self'",
      "frame-ancestors 'none'",
    ]);
  });

  it("keeps a forged Host header out of the CSP", async () => {
    const raw = await rawGet(`${origin}/console/`, { host: "evil.example; script-src *" });
    expect(raw.headers["content-security-policy"]).toContain("connect-src 'self';");
    expect(raw.headers["content-security-policy"]).not.toContain("evil");
  });

  it("revalidates with the ETag", async () => {
    const first = await fetch(`${origin}/console/`);
    const again = await fetch(`${origin}/console/`, { headers: { "if-none-match": first.headers.get("etag")! } });
    expect(again.status).toBe(304);
  });

  it("is 404 for a missing asset, a file of unknown type and a path that escapes, and 405 for POST", async () => {
    expect((await fetch(`${origin}/console/assets/old-chunk.js`)).status).toBe(404);
    expect((await fetch(`${origin}/console/assets/..%2f..%2fpackage.json`)).status).toBe(404);
    expect((await fetch(`${origin}/console/%E0%A4%A`)).status).toBe(404);
    // Not an asset: the app's page, not the file.
    const env = await fetch(`${origin}/console/secret.env`);
    expect(await env.text()).not.toContain("not served");
    expect((await fetch(`${origin}/console/`, { method: "POST", body: "x" })).status).toBe(405);
  });

  it("says how to build the console when it is not built", async () => {
    const empty = mkdtempSync(join(tmpdir(), "hookgate-console-empty-"));
    const handler = createConsoleHandler(empty);
    const other = createServer((req, res) => handler.serve(req, res, "/console/"));
    await new Promise<void>((resolve) => other.listen(0, "127.0.0.1", resolve));
    try {
      const response = await fetch(`http://127.0.0.1:${(other.address() as AddressInfo).port}/console/`);
      expect(response.status).toBe(503);
      expect(await response.text()).toContain("npm run console:build");
    } finally {
      await new Promise((resolve) => other.close(resolve));
      rmSync(empty, { recursive: true, force: true });
    }
  });
});

describe("the gateway", () => {
  let t: TestGateway;
  beforeAll(async () => {
    ensureConsoleBuilt();
    t = await startTestGateway();
  });
  afterAll(async () => {
    await t?.close();
  });

  it("routes /console to the console, on the API's own port", async () => {
    const origin = new URL(t.gateway.url!).origin;
    const redirect = await fetch(`${origin}/console`, { redirect: "manual" });
    expect(redirect.status).toBe(308);
    expect(redirect.headers.get("location")).toBe("/console/");
    const page = await fetch(`${origin}/console/webhooks/1`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toBe("text/html; charset=utf-8");
    const html = await page.text();
    expect(html).toContain('<div id="root">');
    const script = /src="(\/console\/assets\/[^"]+\.js)"/.exec(html)![1]!;
    const js = await fetch(`${origin}${script}`);
    expect(js.status).toBe(200);
    expect(js.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
  });
});

/** A GET without fetch's automatic decompression, with any Host header. */
async function rawGet(url: string, headers: Record<string, string>): Promise<{ headers: Record<string, string>; body: Buffer }> {
  const { request } = await import("node:http");
  return new Promise((resolve, reject) => {
    const req = request(url, { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ headers: res.headers as Record<string, string>, body: Buffer.concat(chunks) }));
    });
    req.on("error", reject);
    req.end();
  });
}
