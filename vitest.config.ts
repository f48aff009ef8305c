import { defineConfig } from "vitest/config";

// The suite runs once on PGlite and, when DATABASE_URL is set (always in CI), once more
// on PostgreSQL. In CI a missing DATABASE_URL fails the postgres project instead of skipping it.
const withPostgres = Boolean(process.env.DATABASE_URL || process.env.CI);

const shared = {
  include: ["test/**/*.test.ts"],
  testTimeout: 60_000,
  hookTimeout: 120_000,
};

export default defineConfig({
  test: {
    pool: "forks",
    maxWorkers: 2,
    projects: [
      { test: { ...shared, name: "pglite", env: { HOOKGATE_TEST_STORE: "pglite" } } },
      ...(withPostgres ? [{ test: { ...shared, name: "postgres", env: { HOOKGATE_TEST_STORE: "postgres" } } }] : []),
    ],
  },
});
