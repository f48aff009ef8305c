import { defineConfig } from "prisma/config";

// The gateway applies prisma/migrations itself (src/store/migrator.ts); this file
// lets the Prisma CLI (generate, and migrate deploy where its engine exists) find them.
export default defineConfig({
  schema: "prisma/schema.prisma",
  migrations: { path: "prisma/migrations" },
  datasource: { url: process.env.DATABASE_URL ?? "postgresql://localhost:5432/hookgate" },
});
