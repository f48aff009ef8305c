// npm run bench:fanout — N graphql-ws subscribers (default 10,000) on one gateway process, and
// in the same run a plain `ws` server broadcasting the same payloads to the same number of
// sockets. For each: delivered messages per second over a stream of events, p50/p99
// publish-to-receive latency of single events to every subscriber, and the server's RSS per idle
// subscriber. Subscribers live in a separate process (bench/fanout/clients.ts), the same for both.
//
// Environment: BENCH_SUBSCRIBERS (10000), BENCH_EVENTS (stream length, 50), BENCH_SINGLE (single
// events timed, 5), BENCH_ROUNDS (3, alternating raw and hookgate; medians are reported),
// DATABASE_URL (PostgreSQL; default embedded PGlite, whose own memory makes the RSS figure
// meaningless), REDIS_URL (pub/sub through Redis; default in-process), BENCH_PROFILE (a directory
// for the gateway's CPU profile).
import { fork, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createPostgresDatabase } from "../test/support/store.js";

const N = Number(process.env.BENCH_SUBSCRIBERS ?? 10_000);
const EVENTS = Number(process.env.BENCH_EVENTS ?? 50);
const SINGLE = Number(process.env.BENCH_SINGLE ?? 5);
const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));
const now = () => performance.timeOrigin + performance.now();

interface Server {
  readonly kind: "hookgate" | "raw ws";
  readonly wsUrl: string;
  readonly pid: number;
  readonly token: string;
  readonly query: string;
  publish(seq: number): Promise<void>;
  stop(): Promise<void>;
}

interface Result {
  readonly kind: string;
  readonly rate: number;
  readonly p50: number;
  readonly p99: number;
  readonly rssPerSubscriberKiB: number;
  readonly rssIdleMiB: number;
}

function rssBytes(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, "utf8").split("\n").find((l) => l.startsWith("VmRSS:"))!;
  return Number(line.split(/\s+/)[1]) * 1024;
}

function waitForLine(child: ChildProcess, pattern: RegExp): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    let out = "";
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = pattern.exec(out);
      if (m) {
        child.stdout!.off("data", onData);
        resolve(m);
      }
    };
    child.stdout!.on("data", onData);
    child.once("exit", (code) => reject(new Error(`exited with ${code}: ${out}`)));
  });
}

async function startHookgate(): Promise<Server> {
  const dataDir = mkdtempSync(join(tmpdir(), "hookgate-fanout-"));
  const db = process.env.DATABASE_URL ? await createPostgresDatabase() : undefined;
  const token = `hg_admin_${randomBytes(24).toString("base64url")}`;
  // BENCH_PROFILE=<dir>: the gateway writes a V8 CPU profile there when it exits.
  const profile = process.env.BENCH_PROFILE ? ["--cpu-prof", "--cpu-prof-dir", process.env.BENCH_PROFILE] : [];
  const child = spawn(process.execPath, [...profile, here("../bin/hookgate.js"), "start"], {
    stdio: ["ignore", "pipe", "inherit"],
    env: {
      ...process.env,
      HOOKGATE_PORT: "0",
      HOOKGATE_ROLE: "api",
      HOOKGATE_ADMIN_TOKEN: token,
      HOOKGATE_DATA_DIR: dataDir,
      HOOKGATE_LOG_LEVEL: "warn",
      // One token opens every connection here; the limits are for production traffic.
      HOOKGATE_RATE_LIMIT_CONNECTIONS: "0",
      HOOKGATE_RATE_LIMIT_PUBLISH: "0",
      HOOKGATE_RATE_LIMIT_MUTATIONS: "0",
      HOOKGATE_MIGRATE: "auto", // a fresh database
      ...(db ? { DATABASE_URL: db.url, HOOKGATE_ENCRYPTION_KEY: randomBytes(32).toString("base64") } : { DATABASE_URL: "" }),
    },
  });
  const [, url] = await waitForLine(child, /GraphiQL at (http:\/\/\S+\/graphql)/);
  const gql = async (query: string, variables: unknown) => {
    const res = await fetch(url!, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await res.json()) as { errors?: unknown };
    if (body.errors) throw new Error(JSON.stringify(body.errors));
    return body;
  };
  const name = `FANOUT_${Date.now()}`;
  try {
    await gql(`mutation($i: CreateEventTypeInput!) { createEventType(input: $i) { id } }`, { i: { name, sampleData: {}, scopes: [] } });
  } catch (error) {
    child.kill("SIGKILL");
    throw error;
  }
  return {
    kind: "hookgate",
    wsUrl: url!.replace(/^http/, "ws"),
    pid: child.pid!,
    token,
    query: `subscription { eventPublished(eventNames: ["${name}"]) { id payload } }`,
    publish: async (seq) => {
      await gql(`mutation($i: PublishEventInput!) { publishEvent(input: $i) { event { id } } }`, {
        i: { eventName: name, payload: { seq, t: now() } },
      });
    },
    stop: async () => {
      child.kill("SIGTERM");
      await new Promise((resolve) => child.once("exit", resolve));
      rmSync(dataDir, { recursive: true, force: true });
      await db?.drop();
    },
  };
}

async function startRaw(): Promise<Server> {
  const child = spawn(process.execPath, ["--import", "tsx", here("./fanout/raw-server.ts")], { stdio: ["ignore", "pipe", "inherit"] });
  const [port] = await waitForLine(child, /^\d+/);
  return {
    kind: "raw ws",
    wsUrl: `ws://127.0.0.1:${port}/graphql`,
    pid: child.pid!,
    token: "",
    query: "",
    publish: async (seq) => {
      await fetch(`http://127.0.0.1:${port}/publish`, { method: "POST", body: JSON.stringify({ id: String(seq), payload: { seq, t: now() } }) });
    },
    stop: async () => {
      child.kill("SIGTERM");
      await new Promise((resolve) => child.once("exit", resolve));
    },
  };
}

/** The subscriber process, and a request/response over IPC. */
function startClients() {
  const child = fork(here("./fanout/clients.ts"), [], { execArgv: ["--import", "tsx"], stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const ask = <T>(msg: object, reply: string): Promise<T> =>
    new Promise((resolve, reject) => {
      const onMessage = (m: { type: string; message?: string }) => {
        if (m.type === "error") return reject(new Error(m.message));
        if (m.type !== reply) return;
        child.off("message", onMessage);
        resolve(m as T);
      };
      child.on("message", onMessage);
      child.send(msg);
    });
  return {
    ask,
    report: (withLatencies = false) =>
      ask<{ received: number; lastAt: number; errors: number; latencies: number[] }>({ type: "report", count: withLatencies ? 1 : 0 }, "report"),
    close: () => child.send({ type: "close" }),
  };
}

async function until(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  if (what) throw new Error(`timed out: ${what}`);
  return false;
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;

async function measure(server: Server): Promise<Result> {
  const clients = startClients();
  const rssBefore = rssBytes(server.pid);
  await clients.ask({ type: "connect", url: server.wsUrl, count: N, token: server.token, query: server.query, protocol: server.kind === "hookgate" ? "graphql-ws" : "raw" }, "connected");
  // Every subscription is live once one event reaches all of them (graphql-ws does not say when
  // the server has registered a subscription).
  let seq = 0;
  await until(
    async () => {
      await clients.ask({ type: "reset" }, "reset");
      await server.publish(seq++);
      return until(async () => (await clients.report()).received >= N, 3_000, "");
    },
    120_000,
    "every subscriber live",
  );
  await new Promise((resolve) => setTimeout(resolve, 1_000)); // let the burst's garbage go
  const rssIdle = rssBytes(server.pid);

  const singles: number[] = [];
  for (let i = 0; i < SINGLE; i++) {
    await clients.ask({ type: "reset" }, "reset");
    await server.publish(seq++);
    await until(async () => (await clients.report()).received >= N, 60_000, "a single event to every subscriber");
    singles.push(...(await clients.report(true)).latencies);
  }
  singles.sort((a, b) => a - b);

  await clients.ask({ type: "reset" }, "reset");
  const started = now();
  for (let i = 0; i < EVENTS; i++) await server.publish(seq++);
  await until(async () => (await clients.report()).received >= N * EVENTS, 300_000, "the stream to every subscriber");
  const { lastAt } = await clients.report();
  const rate = (N * EVENTS) / ((lastAt - started) / 1000);
  clients.close();
  return {
    kind: server.kind,
    rate,
    p50: percentile(singles, 50),
    p99: percentile(singles, 99),
    rssPerSubscriberKiB: (rssIdle - rssBefore) / N / 1024,
    rssIdleMiB: rssIdle / 1024 / 1024,
  };
}

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  console.log(`bench:fanout — ${N} subscribers, ${EVENTS} events streamed, ${SINGLE} single events timed, ${ROUNDS} rounds (alternating, medians)`);
  console.log(`store: ${process.env.DATABASE_URL ? "PostgreSQL" : "PGlite"}; pub/sub: ${process.env.REDIS_URL ? "Redis" : "in-process"}`);
  const rounds: Record<"raw ws" | "hookgate", Result[]> = { "raw ws": [], hookgate: [] };
  for (let round = 1; round <= ROUNDS; round++) {
    for (const start of [startRaw, startHookgate]) {
      const server = await start();
      try {
        const r = await measure(server);
        rounds[server.kind].push(r);
        console.log(`round ${round} ${line(r)}`);
      } finally {
        await server.stop();
      }
    }
  }
  console.log("medians:");
  const summary = (kind: "raw ws" | "hookgate"): Result => {
    const rs = rounds[kind];
    return {
      kind,
      rate: median(rs.map((r) => r.rate)),
      p50: median(rs.map((r) => r.p50)),
      p99: median(rs.map((r) => r.p99)),
      rssPerSubscriberKiB: median(rs.map((r) => r.rssPerSubscriberKiB)),
      rssIdleMiB: median(rs.map((r) => r.rssIdleMiB)),
    };
  };
  const raw = summary("raw ws");
  const hookgate = summary("hookgate");
  console.log(line(raw));
  console.log(line(hookgate));
  console.log(`ratio: hookgate delivers ${((hookgate.rate / raw.rate) * 100).toFixed(1)}% of the raw ws rate`);
}

function line(r: Result): string {
  return (
    `${r.kind.padEnd(9)} ${Math.round(r.rate).toLocaleString("en")} messages/s   p50 ${r.p50.toFixed(1)} ms   p99 ${r.p99.toFixed(1)} ms   ` +
    `RSS ${r.rssPerSubscriberKiB.toFixed(1)} KiB per idle subscriber (${r.rssIdleMiB.toFixed(0)} MiB in all)`
  );
}

await main();
