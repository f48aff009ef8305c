// Embedded mode is one process per data directory: real `hookgate` processes on a temporary
// HOOKGATE_DATA_DIR, as an operator would run them by mistake.
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MeDocument } from "../generated/graphql.js";
import { GraphQLClient } from "../support/client.js";
import { runHookgate, type HookgateProcess } from "../support/processes.js";
import { storeKind } from "../support/store.js";

/** Every process a test started, killed at the end (also one that wrongly kept running). */
const started: HookgateProcess[] = [];

/** Runs `hookgate <command> [args]` to the end: exit code and everything it printed. */
async function hookgate(command: string, env: Record<string, string>, args: string[] = []) {
  const child = runHookgate(command, env, args);
  started.push(child);
  const code = await child.exited;
  return { code, output: child.output() };
}

// The JSON start line ("url"), or the sentence the previous release printed.
const UP = /(?:GraphiQL at |"url":")(http:\/\/[^"\s]+\/graphql)/;

// The data directory lock is embedded mode's; PostgreSQL has no data directory to hold.
describe.runIf(storeKind() === "pglite")("one process per embedded data directory", () => {
  let dir: string;
  let env: Record<string, string>;
  let holder: HookgateProcess;
  let url: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "hookgate-lock-"));
    env = { HOOKGATE_DATA_DIR: join(dir, "data"), HOOKGATE_PORT: "0", HOOKGATE_HOST: "127.0.0.1", HOOKGATE_LOG_LEVEL: "warn" };
    holder = runHookgate("start", env);
    started.push(holder);
    url = (await holder.waitForOutput(UP, 120_000))[1]!;
  }, 150_000);
  afterAll(async () => {
    for (const p of started) await p.kill("SIGKILL");
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("refuses a second start, migrate and replay at once with one line naming the holder and what to do instead (exit 2)", async () => {
    const pid = holder.child.pid!;
    const [start, migrate, replay] = await Promise.all([
      hookgate("start", env),
      hookgate("migrate", env),
      hookgate("replay", env, ["--webhook", "1", "--since", "2026-01-01T00:00:00Z"]),
    ]);
    const inUse = `hookgate: HOOKGATE_DATA_DIR ${env.HOOKGATE_DATA_DIR} is in use by hookgate start (pid ${pid}, role all, ${url}); `;
    for (const [result, advice] of [
      [start, "stop it first, or give this process another HOOKGATE_DATA_DIR"],
      [migrate, "a gateway applies migrations when it starts; stop it first to run migrate"],
      [replay, "use the replayWebhook mutation on the running gateway, or stop it first"],
    ] as const) {
      expect(result.code, result.output).toBe(2);
      expect(result.output.trim().split("\n"), result.output).toHaveLength(1);
      expect(result.output.trim()).toContain(inUse + advice);
    }
    expect(holder.alive()).toBe(true);
    // The socket is the owner's alone.
    expect(statSync(join(env.HOOKGATE_DATA_DIR!, "hookgate.sock")).mode & 0o777).toBe(0o600);
  }, 120_000);

  it("hookgate token asks the running gateway, which mints a token it accepts", async () => {
    const result = await hookgate("token", env, ["ci-bot"]);
    expect(result.code, result.output).toBe(0);
    const token = result.output.match(/^(hg_admin_\S+)$/m)?.[1];
    expect(token, result.output).toBeDefined();
    const { me } = await new GraphQLClient(url, token).ok(MeDocument);
    expect(me.kind).toBe("ADMIN");
    expect(holder.alive()).toBe(true);
  }, 120_000);

  it("after kill -9 of the holder the stale socket is taken over; of two starters at once exactly one wins", async () => {
    await holder.kill("SIGKILL");
    // The socket file is still there, but nobody listens on it any more.
    expect(existsSync(join(env.HOOKGATE_DATA_DIR!, "hookgate.sock"))).toBe(true);
    const a = runHookgate("start", env);
    const b = runHookgate("start", env);
    started.push(a, b);
    // Its URL once it serves; undefined when it exits first.
    const outcome = (p: HookgateProcess) => p.waitForOutput(UP, 120_000).then((m) => m[1]!, () => undefined);
    const [urlA, urlB] = await Promise.all([outcome(a), outcome(b)]);
    const winners = [urlA, urlB].filter(Boolean);
    expect(winners, a.output() + b.output()).toHaveLength(1);
    const [winner, loser] = urlA ? [a, b] : [b, a];
    expect(await loser.exited, loser.output()).toBe(2);
    expect(loser.output()).toContain(`is in use by hookgate start (pid ${winner.child.pid}, role all`);
    // The new holder serves the same database (the admin token minted before is still valid) and mints too.
    const minted = await hookgate("token", env);
    expect(minted.code, minted.output).toBe(0);
    const { me } = await new GraphQLClient(winners[0]!, minted.output.match(/^(hg_admin_\S+)$/m)![1]).ok(MeDocument);
    expect(me.kind).toBe("ADMIN");
  }, 180_000);

  it("refuses HOOKGATE_ROLE=api, HOOKGATE_ROLE=worker and hookgate worker on PGlite: they need PostgreSQL", async () => {
    const other = { ...env, HOOKGATE_DATA_DIR: join(dir, "roles") };
    const [api, worker, workerCommand] = await Promise.all([
      hookgate("start", { ...other, HOOKGATE_ROLE: "api" }),
      hookgate("start", { ...other, HOOKGATE_ROLE: "worker" }),
      hookgate("worker", other),
    ]);
    for (const [result, who] of [
      [api, "HOOKGATE_ROLE=api"],
      [worker, "HOOKGATE_ROLE=worker"],
      [workerCommand, "hookgate worker"],
    ] as const) {
      expect(result.code, result.output).toBe(2);
      expect(result.output.trim()).toBe(
        `hookgate: ${who} needs PostgreSQL (DATABASE_URL): the embedded database (PGlite, HOOKGATE_DATA_DIR) serves one process, which runs the API and the dispatcher together (HOOKGATE_ROLE=all, the default)`,
      );
    }
    // Refused before anything was opened.
    expect(existsSync(other.HOOKGATE_DATA_DIR)).toBe(false);
  }, 120_000);
});
