// The embedded gateway's first start costs no more memory than a later one. Creating the
// database (PGlite's initdb) grows a WASM heap to about 700 MB; done in the gateway's own process,
// the first start held some 800 MB until the garbage collector happened to run, against about
// 400 MB on later starts. (README, Footprint: the figures and how they are taken.)
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runHookgate } from "../support/processes.js";
import { storeKind } from "../support/store.js";

const linux = existsSync("/proc/self/status");
if (!linux) console.log("test/server/footprint.test.ts: skipped, no /proc to read a process's memory from");

/** Resident memory of a process in MB, from /proc. */
function rssMb(pid: number): number {
  const line = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(line![1]) / 1024;
}

// Embedded mode only, and one project is enough.
describe.runIf(linux && storeKind() === "pglite")("embedded footprint", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "hookgate-footprint-"));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  async function startedRss(): Promise<number> {
    const child = runHookgate("start", { HOOKGATE_DATA_DIR: dataDir, HOOKGATE_PORT: "0", HOOKGATE_LOG_LEVEL: "info" });
    try {
      await child.waitForOutput(/hookgate started/, 90_000);
      return rssMb(child.child.pid!);
    } finally {
      await child.stop();
    }
  }

  it("a first start (which creates the database) holds no more memory than a later start", async () => {
    const first = await startedRss();
    const later = await startedRss();
    console.log(`footprint: first start ${first.toFixed(0)} MB, later start ${later.toFixed(0)} MB RSS`);
    expect(first).toBeLessThan(later + 100);
  }, 180_000);
});
