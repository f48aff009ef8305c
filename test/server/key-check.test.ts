// The start-up check of HOOKGATE_ENCRYPTION_KEY (README, "Configuration"): a process whose key
// does not open the secrets already stored refuses to start, in one line naming the setting, exit
// code 2, no stack trace; with the right key it starts as before. In real processes (the command
// line as an operator meets it), then in-process for a database from before the check value.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { KEY_CHECK_NAME } from "../../src/store/key-check.js";
import { createLogger } from "../../src/log.js";
import { startGateway } from "../../src/server/gateway.js";
import { createEventType, createService, createWebhook } from "../support/fixtures.js";
import { GraphQLClient } from "../support/client.js";
import { startTestGateway, tableResolver } from "../support/gateway.js";
import { expectOneLine, runHookgate, runToExit } from "../support/processes.js";
import { createPostgresDatabase, storeKind } from "../support/store.js";

const kind = storeKind();
const key = () => randomBytes(32).toString("base64");

const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** A store of its own: a PGlite data directory (its key generated into it), or a new PostgreSQL database with key A. */
async function freshStore(): Promise<{ env: Record<string, string>; dataDir?: string }> {
  const base = { HOOKGATE_LOG_LEVEL: "warn", HOOKGATE_HOST: "127.0.0.1", HOOKGATE_PORT: "0", HOOKGATE_ADMIN_TOKEN: `hg_admin_${randomBytes(24).toString("base64url")}` };
  if (kind === "pglite") {
    const dir = mkdtempSync(join(tmpdir(), "hookgate-keycheck-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    return { env: { ...base, HOOKGATE_DATA_DIR: dir }, dataDir: dir };
  }
  const { url, drop } = await createPostgresDatabase();
  cleanups.push(drop);
  return { env: { ...base, DATABASE_URL: url, HOOKGATE_ENCRYPTION_KEY: key(), HOOKGATE_MIGRATE: "auto" } };
}

/** Starts `hookgate start`, creates a webhook through the API, and stops it. */
async function startAndCreateWebhook(env: Record<string, string>): Promise<void> {
  const child = runHookgate("start", env);
  try {
    const [, url] = await child.waitForOutput(/"url":"([^"]+)"/, 150_000);
    const clients = { admin: new GraphQLClient(url!, env.HOOKGATE_ADMIN_TOKEN), as: (token?: string) => new GraphQLClient(url!, token) };
    const service = await createService(clients);
    const type = await createEventType(clients);
    await createWebhook(service.client, { eventIds: [type.id] });
  } finally {
    expect(await child.stop(), child.output()).toBe(0);
  }
}

const run = (env: Record<string, string>) => runToExit(["start"], env);

describe("a process whose HOOKGATE_ENCRYPTION_KEY does not open the stored secrets", () => {
  it("refuses to start in one line naming HOOKGATE_ENCRYPTION_KEY; with the key they were sealed with it starts", async () => {
    const { env } = await freshStore();
    await startAndCreateWebhook(env);
    const other = key();
    const result = await run({ ...env, HOOKGATE_ENCRYPTION_KEY: other });
    expectOneLine(result, /^hookgate: HOOKGATE_ENCRYPTION_KEY does not open the secrets stored in this database \(they were sealed with another key\); /);
    expect(result.output).not.toContain(other);
    // The right key (in embedded mode: the generated one, still in the data directory) starts again.
    const again = runHookgate("start", env);
    await again.waitForOutput(/"url":"([^"]+)"/, 150_000);
    expect(await again.stop(), again.output()).toBe(0);
  }, 480_000);

  if (kind === "pglite") {
    it("embedded mode: a lost or replaced encryption.key in the data directory is refused, naming the file", async () => {
      const { env, dataDir } = await freshStore();
      await startAndCreateWebhook(env);
      const file = join(dataDir!, "encryption.key");
      writeFileSync(file, key(), { mode: 0o600 });
      const result = await run(env);
      expectOneLine(
        result,
        new RegExp(`^hookgate: HOOKGATE_ENCRYPTION_KEY \\(unset: the key in ${file.replace(/[/.]/g, "\\$&")}\\) does not open the secrets stored in this database`),
      );
    }, 360_000);
  }
});

describe("the check value", () => {
  const adminToken = () => `hg_admin_${randomBytes(24).toString("base64url")}`;
  const configWith = (t: { store: { url?: string } }, encryptionKey: string) =>
    loadConfig({
      HOOKGATE_PORT: "0",
      HOOKGATE_HOST: "127.0.0.1",
      HOOKGATE_ADMIN_TOKEN: adminToken(),
      HOOKGATE_LOG_LEVEL: "silent",
      HOOKGATE_ENCRYPTION_KEY: encryptionKey,
      HOOKGATE_DATA_DIR: "memory://",
      HOOKGATE_MIGRATE: "auto",
      ...(t.store.url ? { DATABASE_URL: t.store.url } : {}),
    });

  it("is stored at first start; a database from before it (webhooks, no check value) is judged by its webhooks' secrets", async () => {
    const t = await startTestGateway();
    cleanups.push(() => t.close());
    const sql = t.gateway.database.sql;
    const [stored] = await sql.query<{ sealed: string }>(`SELECT sealed FROM encryption_key_check WHERE name = $1`, [KEY_CHECK_NAME]);
    expect(stored!.sealed).toMatch(/^v1\./);

    const service = await createService(t);
    const type = await createEventType(t);
    await createWebhook(service.client, { eventIds: [type.id] });
    await t.gateway.close();
    // As the previous release left it: the table is there (migrated), the value is not.
    await sql.query(`DELETE FROM encryption_key_check`);
    const start = (encryptionKey: string) =>
      startGateway({ config: configWith(t, encryptionKey), database: t.store.database, logger: createLogger("silent"), resolver: tableResolver() });

    await expect(start(key())).rejects.toThrow(/^HOOKGATE_ENCRYPTION_KEY does not open the secrets stored in this database/);
    expect(await sql.query(`SELECT 1 FROM encryption_key_check`)).toHaveLength(0);

    const right = await start(t.config.HOOKGATE_ENCRYPTION_KEY!);
    await right.close();
    const [restored] = await sql.query<{ sealed: string }>(`SELECT sealed FROM encryption_key_check WHERE name = $1`, [KEY_CHECK_NAME]);
    expect(restored!.sealed).toMatch(/^v1\./);
    // From now on the check value decides, whatever the webhooks hold.
    await sql.query(`DELETE FROM webhooks`);
    await expect(start(key())).rejects.toThrow(/^HOOKGATE_ENCRYPTION_KEY does not open/);
  });
});
