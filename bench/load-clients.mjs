// The benchmarks' HTTP clients, on a worker thread of their own: the thread that serves (the
// gateway, or the raw baseline server) then spends its time serving, as it would with its clients
// on other machines, and both sides of a comparison get the same clients. Plain JavaScript so the
// worker needs no TypeScript loader.
//
// The webhook receiver runs here too (answering 204), for the same reason.
//
// Messages in: { id, job }, job one of
//   { kind: "closed", origin, path, headers, body, count, clients } → { latencies, seconds }
//   { kind: "open", origin, path, headers, body, rate, seconds, connections } → { latencies, seconds, sent: [eventId, startedAt][] }
//   { kind: "receiver" } → its URL; { kind: "arrivedCount" }; { kind: "arrivals", ids } → [eventId, arrivedAt][]; { kind: "stop" }
// Message out: { id, ok, result } or { id, ok: false, message }. Times (startedAt, arrivedAt) are
// ms on the main thread's performance clock.
import { parentPort, workerData } from "node:worker_threads";
import { createServer } from "node:http";
import { Pool } from "undici";

/** Milliseconds on the main thread's performance clock. */
const now = () => performance.timeOrigin + performance.now() - workerData.mainTimeOrigin;

async function closed({ origin, path, headers, body, count, clients }) {
  const pool = new Pool(origin, { connections: clients, keepAliveTimeout: 30_000 });
  const latencies = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (next < count) {
        next++;
        const t0 = performance.now();
        const res = await pool.request({ path, method: "POST", headers, body });
        const text = await res.body.text();
        if (res.statusCode !== 200 || text.includes('"errors"')) throw new Error(`call failed: ${res.statusCode} ${text.slice(0, 200)}`);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  await pool.close();
  return { latencies, seconds };
}

async function open({ origin, path, headers, body, rate, seconds, connections }) {
  const pool = new Pool(origin, { connections, keepAliveTimeout: 30_000 });
  const latencies = [];
  const sent = [];
  const total = Math.round(rate * seconds);
  const started = performance.now();
  const calls = [];
  for (let i = 0; i < total; i++) {
    const due = started + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    const t0 = performance.now();
    const at = now();
    calls.push(
      pool.request({ path, method: "POST", headers, body }).then(async (res) => {
        const json = await res.body.json();
        latencies.push(performance.now() - t0);
        const id = json.data?.publishEvent?.event.id;
        if (id) sent.push([id, at]);
      }),
    );
  }
  await Promise.all(calls);
  const elapsed = (performance.now() - started) / 1000;
  await pool.close();
  return { latencies, seconds: elapsed, sent };
}

/** The webhook receiver: answers 204 and notes when each event (webhook-id) arrived. */
const arrived = new Map();
let receiver;
async function startReceiver() {
  receiver = createServer((req, res) => {
    const id = String(req.headers["webhook-id"] ?? "");
    req.resume();
    req.on("end", () => {
      if (id) arrived.set(id, now());
      res.writeHead(204).end();
    });
  });
  receiver.keepAliveTimeout = 60_000;
  await new Promise((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${receiver.address().port}/hook`;
}

const jobs = {
  closed,
  open,
  receiver: startReceiver,
  /** How many events have arrived so far. */
  arrivedCount: async () => arrived.size,
  /** When each of these events arrived (those that have). */
  arrivals: async ({ ids }) => ids.flatMap((id) => (arrived.has(id) ? [[id, arrived.get(id)]] : [])),
  stop: async () => {
    receiver?.closeAllConnections();
    receiver?.close();
  },
};

parentPort.on("message", ({ id, job }) => {
  jobs[job.kind](job).then(
    (result) => parentPort.postMessage({ id, ok: true, result }),
    (error) => parentPort.postMessage({ id, ok: false, message: String(error?.stack ?? error) }),
  );
});
