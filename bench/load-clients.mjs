// The benchmarks' HTTP clients, on a worker thread of their own: the thread that serves (the
// gateway, or the raw baseline server) then spends its time serving, as it would with its clients
// on other machines, and both sides of a comparison get the same clients. Plain JavaScript so the
// worker needs no TypeScript loader.
//
// Messages in: { kind: "closed", origin, path, headers, body, count, clients }
//              { kind: "open", origin, path, headers, body, rate, seconds, connections }
// Message out: { latencies: number[], seconds, sent?: [eventId, startedAt][] }, times in ms since
// performance.timeOrigin of the main thread (startedAt), so the main thread can compare them with
// when its receiver saw each event.
import { parentPort, workerData } from "node:worker_threads";
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

parentPort.on("message", (job) => {
  (job.kind === "closed" ? closed(job) : open(job)).then(
    (result) => parentPort.postMessage({ ok: true, result }),
    (error) => parentPort.postMessage({ ok: false, message: String(error?.stack ?? error) }),
  );
});
