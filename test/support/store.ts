import { randomBytes } from "node:crypto";
import pg from "pg";
import { openDatabase, type Database } from "../../src/store/database.js";

export type StoreKind = "pglite" | "postgres";

/** Which store this vitest project runs on (vitest.config.ts sets it). */
export function storeKind(): StoreKind {
  const kind = process.env.HOOKGATE_TEST_STORE ?? "pglite";
  if (kind !== "pglite" && kind !== "postgres") throw new Error(`HOOKGATE_TEST_STORE=${kind} is neither pglite nor postgres`);
  return kind;
}

/** The server the postgres project runs against; never skipped: a missing URL is an error. */
export function postgresServerUrl(): string {
  const url = process.env.DATABASE_URL;
  if (!url) {
    throw new Error("the postgres test project needs DATABASE_URL (CI sets postgresql://postgres@127.0.0.1:5432/test)");
  }
  return url;
}

export interface TestStore {
  readonly database: Database;
  /** postgresql://… of this test's own database (postgres only). */
  readonly url: string | undefined;
  close(): Promise<void>;
}

/** A fresh, empty database: PGlite in memory, or a new PostgreSQL database dropped on close. */
export async function openTestStore(kind: StoreKind = storeKind()): Promise<TestStore> {
  if (kind === "pglite") {
    const database = await openDatabase({ dataDir: "memory://" });
    return { database, url: undefined, close: () => database.close() };
  }
  const { url, drop } = await createPostgresDatabase();
  const database = await openDatabase({ url });
  return {
    database,
    url,
    close: async () => {
      await database.close();
      await drop();
    },
  };
}

export async function createPostgresDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const server = postgresServerUrl();
  const name = `hookgate_test_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: server });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(server);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: server });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}
