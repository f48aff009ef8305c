import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

export interface PreviousRelease {
  readonly commit: string;
  readonly dir: string;
  /** Its bin/hookgate.js, for runHookgate(…, cli). */
  readonly cli: string;
  /** Its migration directory names. */
  readonly migrations: string[];
  remove(): void;
}

/**
 * A release checked out of this repository's history into a temporary directory (git archive),
 * sharing this checkout's node_modules (a symlink), with its own Prisma client generated from its
 * own schema.prisma: the code of that release, as an operator still runs it.
 */
export function checkOutRelease(commit: string): PreviousRelease {
  const dir = mkdtempSync(join(tmpdir(), `hookgate-release-${commit}-`));
  const tar = join(dir, "release.tar");
  execFileSync("git", ["-C", ROOT, "archive", "--format=tar", `--output=${tar}`, commit]);
  execFileSync("tar", ["-x", "-C", dir, "-f", tar]);
  rmSync(tar);
  symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"));
  // Only the Prisma client (no GraphQL codegen: the test talks to it over HTTP); offline, as
  // scripts/generate.mjs runs it, with the engine placeholder that script writes.
  const placeholder = join(ROOT, "node_modules", ".cache", "hookgate", "schema-engine-placeholder");
  if (!existsSync(placeholder)) throw new Error(`${placeholder} is missing: run npm run generate in this checkout first`);
  execFileSync(process.execPath, [join(dir, "node_modules", "prisma", "build", "index.js"), "generate"], {
    cwd: dir,
    env: {
      ...process.env,
      PATH: `${join(dir, "node_modules", ".bin")}:${process.env.PATH ?? ""}`,
      PRISMA_SCHEMA_ENGINE_BINARY: placeholder,
      PRISMA_HIDE_UPDATE_MESSAGE: "1",
    },
    stdio: "pipe",
  });
  const migrations = execFileSync("git", ["-C", ROOT, "ls-tree", "--name-only", `${commit}:prisma/migrations`], { encoding: "utf8" })
    .split("\n")
    .filter((name) => /^\d{14}_/.test(name))
    .sort();
  return { commit, dir, cli: join(dir, "bin", "hookgate.js"), migrations, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
