import { existsSync, readdirSync } from "node:fs";
import { connect } from "node:net";
import { delimiter, join } from "node:path";

/*
 * The servers and programs some tests need beyond Node.js: a Redis to talk to, PostgreSQL and
 * Redis server binaries for the drills' private servers, Chromium for the browser test. `npm test`
 * on a machine with only Node.js must pass: a file whose server is not there says so in ONE line
 * and its tests are skipped. In CI (CI=true, where .ci/run installs them all) a missing one fails
 * loudly instead. Each check runs once per test process.
 *
 *   const redis = await needsRedis("two gateways sharing rate limits");
 *   describe.runIf(redis)("…", () => { … });
 */

const inCi = () => /^(true|1|yes)$/i.test(process.env.CI ?? "");

/** true when present; else the one line (or, in CI, an error). */
function verdict(present: boolean, what: string, missing: string): boolean {
  if (present) return true;
  if (inCi()) throw new Error(`${what}: ${missing}; CI=true, where every test must run`);
  const line = `${what}: skipped, ${missing}`;
  // vitest evaluates its config more than once in one process: the line is written once.
  const said = ((globalThis as { __hookgateSkipLines?: Set<string> }).__hookgateSkipLines ??= new Set());
  if (!said.has(line)) process.stdout.write(`${line}\n`);
  said.add(line);
  return false;
}

/** Whether something accepts TCP connections on host:port within 1 s. */
export function probeTcp(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: 1_000 });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once("connect", () => done(true));
    socket.once("timeout", () => done(false));
    socket.once("error", () => done(false));
  });
}

const probes = new Map<string, Promise<boolean>>();
const probeOnce = (host: string, port: number) => {
  const key = `${host}:${port}`;
  if (!probes.has(key)) probes.set(key, probeTcp(host, port));
  return probes.get(key)!;
};

/** The Redis the tests use: HOOKGATE_TEST_REDIS_URL, else REDIS_URL, else the local default. */
export const testRedisUrl = (): string => process.env.HOOKGATE_TEST_REDIS_URL ?? process.env.REDIS_URL ?? "redis://127.0.0.1:6379";

/** A Redis answering at testRedisUrl(). */
export async function needsRedis(what: string): Promise<boolean> {
  const url = new URL(testRedisUrl());
  const open = await probeOnce(url.hostname || "127.0.0.1", Number(url.port || 6379));
  return verdict(open, what, `no Redis at ${url.host} (start one, or set REDIS_URL)`);
}

/** A PostgreSQL accepting connections where DATABASE_URL points. */
export async function needsPostgres(what: string): Promise<boolean> {
  const raw = process.env.DATABASE_URL;
  if (!raw) return verdict(false, what, "DATABASE_URL is not set");
  const url = new URL(raw);
  const open = await probeOnce(url.hostname || "127.0.0.1", Number(url.port || 5432));
  return verdict(open, what, `no PostgreSQL at ${url.host} (DATABASE_URL)`);
}

function onPath(program: string): boolean {
  return (process.env.PATH ?? "").split(delimiter).some((dir) => dir && existsSync(join(dir, program)));
}

/** A program on PATH (curl, for the README's shell examples). */
export function needsProgram(what: string, program: string): boolean {
  return verdict(onPath(program), what, `${program} is not on PATH (apt-get install ${program})`);
}

/** redis-server and PostgreSQL's initdb/postgres (Debian layout), for the drills' private servers. */
export function needsServerBinaries(what: string, which: readonly ("redis" | "postgres")[]): boolean {
  const missing: string[] = [];
  if (which.includes("redis") && !onPath("redis-server")) missing.push("redis-server");
  if (which.includes("postgres")) {
    const root = "/usr/lib/postgresql";
    const found = existsSync(root) && readdirSync(root).some((v) => existsSync(join(root, v, "bin", "initdb")));
    if (!found) missing.push("PostgreSQL server binaries");
  }
  return verdict(missing.length === 0, what, `${missing.join(" and ")} not installed (apt-get install redis-server postgresql)`);
}

/** Where Chromium is: CHROMIUM_PATH, or Debian's /usr/bin/chromium. */
export const chromiumPath = (): string => process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/** A Chromium to drive headless. */
export function needsChromium(what: string): boolean {
  return verdict(existsSync(chromiumPath()), what, `no Chromium at ${chromiumPath()} (apt-get install chromium, or set CHROMIUM_PATH)`);
}
