// A worker-only process (`hookgate worker`, PostgreSQL) serves no API; with HOOKGATE_METRICS_PORT
// it serves /metrics, with the attempt counters of the deliveries it sent.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PublishEventDocument } from "../generated/graphql.js";
import { createEventType, createService, createWebhook } from "../support/fixtures.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";
import { runHookgate, type HookgateProcess } from "../support/processes.js";
import { eventually, startReceiver, type Receiver } from "../support/receiver.js";

/** The value of one sample line of a Prometheus text exposition (0 when absent). */
function sample(text: string, line: string): number {
  const found = text.split("\n").find((l) => l.startsWith(`${line} `));
  return found ? Number(found.slice(line.length + 1)) : 0;
}

async function scrape(url: string, token?: string): Promise<{ status: number; text: string }> {
  const response = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  return { status: response.status, text: await response.text() };
}

describe("metrics of a worker-only process (HOOKGATE_METRICS_PORT)", () => {
  let api: TestGateway;
  let worker: HookgateProcess;
  let receiver: Receiver;

  beforeAll(async () => {
    receiver = await startReceiver((r) => (/"ok": ?false/.test(r.body) ? { status: 500 } : { status: 200 }));
    // The API process dispatches nothing (role api), and has its own metrics port too.
    api = await startTestGateway({ HOOKGATE_ROLE: "api", HOOKGATE_METRICS_PORT: "0", HOOKGATE_METRICS: "admin" });
    worker = runHookgate("worker", {
      DATABASE_URL: api.store.url!,
      HOOKGATE_ENCRYPTION_KEY: api.config.HOOKGATE_ENCRYPTION_KEY!,
      HOOKGATE_ADMIN_TOKEN: api.config.HOOKGATE_ADMIN_TOKEN!,
      HOOKGATE_ALLOW_PRIVATE_TARGETS: "true",
      HOOKGATE_POLL_MS: "50",
      HOOKGATE_LOG_LEVEL: "warn",
      HOOKGATE_HOST: "127.0.0.1",
      HOOKGATE_METRICS_PORT: "0",
    });
  });
  afterAll(async () => {
    await worker?.kill("SIGKILL");
    await api?.close();
    await receiver?.close();
  });

  it("serves the attempt counters the worker records; the API process's port serves its own registry", async () => {
    // stdout is JSON log lines: the "hookgate started" line carries the metrics URL.
    const [, metricsUrl] = await worker.waitForOutput(/"metricsUrl":"(http:\/\/[^"]+\/metrics)"/, 120_000);
    const type = await createEventType(api);
    const service = await createService(api);
    await createWebhook(service.client, { eventIds: [type.id], url: receiver.url("/w") });
    for (const ok of [true, true, false]) await api.admin.ok(PublishEventDocument, { input: { eventName: type.name, payload: { ok } } });

    const worked = await eventually(async () => {
      const { status, text } = await scrape(metricsUrl!);
      expect(status).toBe(200);
      return sample(text, 'hookgate_delivery_attempts_total{outcome="succeeded"}') === 2 &&
        sample(text, 'hookgate_delivery_attempts_total{outcome="retrying"}') >= 1
        ? text
        : undefined;
    }, 30_000);
    // The failing one is retried after 5 s: it may have had a second attempt by now.
    const retrying = sample(worked, 'hookgate_delivery_attempts_total{outcome="retrying"}');
    expect(sample(worked, 'hookgate_delivery_attempt_errors_total{error_class="HTTP_STATUS"}')).toBe(retrying);
    expect(receiver.requests.length).toBeGreaterThanOrEqual(2 + retrying);
    // Only /metrics and /healthz on that port.
    expect((await scrape(metricsUrl!.replace(/\/metrics$/, "/healthz"))).status).toBe(200);
    expect((await scrape(metricsUrl!.replace(/\/metrics$/, "/graphql"))).status).toBe(404);

    // The API process: its metrics port follows HOOKGATE_METRICS=admin, and it counted the events, not the attempts.
    const apiMetrics = api.gateway.metricsUrl!;
    expect((await scrape(apiMetrics)).status).toBe(401);
    const { status, text } = await scrape(apiMetrics, api.config.HOOKGATE_ADMIN_TOKEN);
    expect(status).toBe(200);
    expect(sample(text, "hookgate_events_published_total")).toBe(3);
    expect(sample(text, 'hookgate_delivery_attempts_total{outcome="succeeded"}')).toBe(0);
  }, 180_000);
});
