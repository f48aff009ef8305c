// Generates the Prisma client (+ Pothos types) and the typed test documents, and builds the console.
// Runs on `npm install` (postinstall) and `npm run generate`, offline: `prisma generate`
// needs no engine, but the CLI insists that PRISMA_SCHEMA_ENGINE_BINARY names a file,
// so a placeholder is written that fails loudly if anything ever tries to run it.
import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(join(root, "package.json"));
const placeholderDir = join(root, "node_modules", ".cache", "hookgate");
const placeholder = join(placeholderDir, "schema-engine-placeholder");
mkdirSync(placeholderDir, { recursive: true });
writeFileSync(placeholder, '#!/bin/sh\necho "hookgate: the Prisma schema engine is not installed; migrations are applied by npm run migrate" >&2\nexit 1\n');
chmodSync(placeholder, 0o755);

// Prisma finds generator binaries (prisma-pothos-types) on PATH, as `npx` would put them.
const path = `${join(root, "node_modules", ".bin")}:${process.env.PATH ?? ""}`;
const env = { ...process.env, PATH: path, PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY ?? placeholder, PRISMA_HIDE_UPDATE_MESSAGE: "1" };
const run = (bin, args) => execFileSync(process.execPath, [bin, ...args], { cwd: root, env, stdio: "inherit" });

run(require.resolve("prisma/build/index.js"), ["generate"]);

// The code generator is a development tool; a production install (--omit=dev) skips it.
const codegen = join(root, "node_modules", "@graphql-codegen", "core", "package.json");
// tsx's loader lets the script read codegen.ts, the config.
if (existsSync(codegen)) execFileSync(process.execPath, ["--import", "tsx", join(root, "scripts", "codegen.mjs")], { cwd: root, env, stdio: "inherit" });

// The web console (served at /console). Its typed documents are committed (console/src/gql),
// so this needs only the production dependencies.
run(join(root, "scripts", "build-console.mjs"), []);
