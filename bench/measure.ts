// What the benchmarks share: CPU accounting from /proc, the receiver process, medians.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { once } from "node:events";
import { fileURLToPath } from "node:url";

/** CPU seconds (user + system) a process has used so far, from /proc (Linux); 0 elsewhere. */
export function processCpuSeconds(pid: number): number {
  try {
    // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100; // clock ticks; 100 per second on Linux
  } catch {
    return 0;
  }
}

export const ownCpuSeconds = (): number => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
};

/** CPU per request in µs, for the report. */
export const perRequest = (seconds: number, count: number): number => (seconds * 1e6) / count;

export interface Cpu {
  /** µs of CPU per request/delivery in the sending process (the bench process itself). */
  sender: number;
  receiver: number;
  /** µs per delivery in the PostgreSQL backends serving the dispatcher (not WAL writer or checkpointer). */
  postgres?: number;
}

export interface ReceiverProcess {
  readonly port: number;
  readonly pid: number;
  stop(): void;
}

/** bench/receiver.ts as its own process (answers 204), so it does not share the measured event loop. */
export async function startReceiver(): Promise<ReceiverProcess> {
  const child = spawn(process.execPath, ["--import", "tsx", fileURLToPath(new URL("./receiver.ts", import.meta.url))], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const [chunk] = (await once(child.stdout!, "data")) as [Buffer];
  return { port: Number(chunk.toString().trim()), pid: child.pid!, stop: () => child.kill("SIGTERM") };
}

/** CPU seconds used so far by each PostgreSQL backend serving this database (PostgreSQL on this machine only). */
export async function backendCpu(database: { kind: string; sql: { query<R>(text: string): Promise<R[]> } }): Promise<Map<number, number>> {
  if (database.kind !== "postgres") return new Map();
  const rows = await database.sql.query<{ pid: number }>(
    `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND backend_type = 'client backend'`,
  );
  return new Map(rows.map((r) => [r.pid, processCpuSeconds(r.pid)]));
}

/** The backends' CPU seconds since `before` (a backendCpu reading). */
export async function backendCpuSince(database: { kind: string; sql: { query<R>(text: string): Promise<R[]> } }, before: Map<number, number>): Promise<number> {
  let seconds = 0;
  for (const [pid, now] of await backendCpu(database)) seconds += now - (before.get(pid) ?? 0);
  return seconds;
}

export const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export const loadAverage = (): string => readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");

export const fmtCpu = (cpu: Cpu): string =>
  `${cpu.sender.toFixed(0)} µs sender, ${cpu.receiver.toFixed(0)} µs receiver` +
  (cpu.postgres === undefined ? "" : `, ${cpu.postgres.toFixed(0)} µs postgres backends`);

export const medianCpu = (cpus: Cpu[]): Cpu => ({
  sender: median(cpus.map((c) => c.sender)),
  receiver: median(cpus.map((c) => c.receiver)),
  ...(cpus.every((c) => c.postgres !== undefined) ? { postgres: median(cpus.map((c) => c.postgres!)) } : {}),
});

/** Resolves once the dispatcher's queue is empty (a probe of one row: the check must not load the database). */
export async function queueDrained(database: { sql: { query<R>(text: string): Promise<R[]> } }): Promise<void> {
  for (;;) {
    const [row] = await database.sql.query<{ open: boolean }>(`SELECT EXISTS (SELECT 1 FROM delivery_queue) AS open`);
    if (!row!.open) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
