import { createRequire } from "node:module";
import { defineConfig } from "vitest/config";
import { needsPostgres } from "./test/support/servers.js";

// graphql 16 ships CommonJS (main) and ESM (module) builds. Node, and so every dependency,
// loads the CommonJS one; without this alias Vite would give our own modules the ESM one,
// and errors created on one side would fail instanceof checks on the other.
const graphqlEntry = createRequire(import.meta.url).resolve("graphql");

// The suite runs once on PGlite and, when DATABASE_URL names a PostgreSQL that answers, once more
// on PostgreSQL; otherwise one line says the postgres project is skipped. In CI a missing
// DATABASE_URL or server stops the run instead (test/support/servers.ts).
const withPostgres = await needsPostgres("the postgres test project (DATABASE_URL=postgresql://… npm test)");

const shared = {
  include: ["test/**/*.test.ts"],
  testTimeout: 60_000,
  hookTimeout: 120_000,
};

export default defineConfig({
  resolve: { alias: [{ find: /^graphql$/, replacement: graphqlEntry }] },
  test: {
    pool: "forks",
    maxWorkers: 2,
    projects: [
      // *.pg.test.ts need several processes on one database, which only PostgreSQL allows.
      { extends: true as const, test: { ...shared, name: "pglite", exclude: ["test/**/*.pg.test.ts"], env: { HOOKGATE_TEST_STORE: "pglite" } } },
      ...(withPostgres ? [{ extends: true as const, test: { ...shared, name: "postgres", env: { HOOKGATE_TEST_STORE: "postgres" } } }] : []),
    ],
  },
});
