// Start-up as a new user meets it, in real processes: `hookgate` with no command, PORT, a port in
// use (the one-time admin token survives it), and settings that cannot work (a database that is
// not there, a host that does not resolve, a data directory that is a file): one line naming the
// setting, exit code 2, no stack trace.
import { randomBytes } from "node:crypto";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { expectOneLine, runHookgate, runToExit } from "../support/processes.js";
import { createPostgresDatabase, postgresServerUrl, storeKind } from "../support/store.js";

const kind = storeKind();
const key = () => randomBytes(32).toString("base64");

const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** A store of its own, with no admin token yet: a PGlite data directory, or a new PostgreSQL database. */
async function freshStore(): Promise<Record<string, string>> {
  const base = { HOOKGATE_LOG_LEVEL: "warn", HOOKGATE_HOST: "127.0.0.1" };
  if (kind === "pglite") {
    const dir = mkdtempSync(join(tmpdir(), "hookgate-startup-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    return { ...base, HOOKGATE_DATA_DIR: dir };
  }
  const { url, drop } = await createPostgresDatabase();
  cleanups.push(drop);
  // A fresh PostgreSQL database has every migration pending: the gateway migrates it itself.
  return { ...base, DATABASE_URL: url, HOOKGATE_ENCRYPTION_KEY: key(), HOOKGATE_MIGRATE: "auto" };
}

/** A TCP port that something else holds for the rest of the file. */
async function occupiedPort(): Promise<number> {
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return (server.address() as { port: number }).port;
}

/** A port free right now (the kernel hands out another one next time). */
async function freePort(): Promise<number> {
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const run = runToExit;

describe("the command line", () => {
  it("with no command prints the usage and exits 2, starting nothing", async () => {
    const dir = mkdtempSync(join(tmpdir(), "hookgate-nocommand-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const cli = new URL("../../bin/hookgate.js", import.meta.url).pathname;
    const result = spawnSync(process.execPath, [cli], { env: { PATH: process.env.PATH ?? "", HOOKGATE_DATA_DIR: join(dir, "data") }, encoding: "utf8", timeout: 60_000 });
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/^Usage: hookgate <command>/);
    expect(result.stderr).toContain("start ");
    expect(result.stdout).toBe("");
    // Nothing was opened: no data directory.
    expect(existsSync(join(dir, "data"))).toBe(false);
  });
});

describe(`start-up (${kind})`, () => {
  it("listens on PORT when HOOKGATE_PORT is not set, and logs its URL as JSON", async () => {
    const env = await freshStore();
    const port = await freePort();
    const child = runHookgate("start", { ...env, PORT: String(port), HOOKGATE_ADMIN_TOKEN: `hg_admin_${randomBytes(24).toString("base64url")}` });
    try {
      const [line] = await child.waitForOutput(/^\{.*"msg":"hookgate started".*\}$/m);
      expect(JSON.parse(line).url).toBe(`http://127.0.0.1:${port}/graphql`);
      // stdout is not a terminal here: nothing but JSON lines.
      for (const l of child.output().trim().split("\n")) expect(() => JSON.parse(l), l).not.toThrow();
    } finally {
      await child.stop();
    }
  });

  it("with its port in use says so in one line naming the address and the setting; the admin token is not used up", async () => {
    const env = await freshStore();
    const port = await occupiedPort();
    const failed = await run(["start"], { ...env, HOOKGATE_PORT: String(port) });
    expectOneLine(failed, new RegExp(`^hookgate: 127\\.0\\.0\\.1:${port} is already in use .*HOOKGATE_PORT`));
    expect(failed.output).not.toContain("hg_admin_");

    // The next start on a free port is still the first start: it creates and prints the token.
    const child = runHookgate("start", { ...env, HOOKGATE_PORT: "0" });
    try {
      const [, token] = await child.waitForOutput(/(hg_admin_\S+)/);
      const [line] = await child.waitForOutput(/^\{.*"msg":"hookgate started".*\}$/m);
      const response = await fetch(JSON.parse(line).url, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
        body: JSON.stringify({ query: "{ me { kind } }" }),
      });
      expect(await response.json()).toEqual({ data: { me: { kind: "ADMIN" } } });
    } finally {
      await child.stop();
    }
  });

  it("refuses a HOOKGATE_HOST that does not resolve in one line", async () => {
    const env = await freshStore();
    const result = await run(["start"], { ...env, HOOKGATE_HOST: "no-such-host.invalid", HOOKGATE_PORT: "0" });
    expectOneLine(result, /^hookgate: HOOKGATE_HOST no-such-host\.invalid does not resolve/);
  });

  it("refuses a DATABASE_URL nothing answers on in one line, without its credentials", async () => {
    const port = await freePort();
    const result = await run(["start"], {
      HOOKGATE_LOG_LEVEL: "warn",
      HOOKGATE_PORT: "0",
      DATABASE_URL: `postgresql://hookgate:pa55word@127.0.0.1:${port}/app`,
      HOOKGATE_ENCRYPTION_KEY: key(),
    });
    expectOneLine(result, new RegExp(`^hookgate: DATABASE_URL: cannot use PostgreSQL database app on 127\\.0\\.0\\.1:${port}: connection refused`));
    expect(result.output).not.toContain("pa55word");
  });

  if (kind === "postgres") {
    it("refuses a DATABASE_URL naming a database that does not exist in one line", async () => {
      const url = new URL(postgresServerUrl());
      url.pathname = `/hookgate_missing_${randomBytes(4).toString("hex")}`;
      const result = await run(["migrate"], { HOOKGATE_LOG_LEVEL: "warn", DATABASE_URL: url.toString(), HOOKGATE_ENCRYPTION_KEY: key() });
      expect(result.code, result.output).toBe(2);
      expect(result.output.trim().split("\n").at(-1)).toMatch(/^hookgate: DATABASE_URL: cannot use PostgreSQL database hookgate_missing_\w+ on .*: the database does not exist/);
      expect(result.output).not.toMatch(/\n\s+at /);
    });
  }

  if (kind === "pglite") {
    it("refuses a HOOKGATE_DATA_DIR that is a file, or lies under one, in one line", async () => {
      const dir = mkdtempSync(join(tmpdir(), "hookgate-datadir-"));
      cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
      const file = join(dir, "not-a-directory");
      writeFileSync(file, "x");
      for (const dataDir of [file, join(file, "data")]) {
        const result = await run(["start"], { HOOKGATE_LOG_LEVEL: "warn", HOOKGATE_PORT: "0", HOOKGATE_DATA_DIR: dataDir });
        expectOneLine(result, new RegExp(`^hookgate: HOOKGATE_DATA_DIR ${dataDir.replace(/[/.]/g, "\\$&")} cannot hold the embedded database: it \\(or a parent\\) is a file`));
      }
    });
  }
});
