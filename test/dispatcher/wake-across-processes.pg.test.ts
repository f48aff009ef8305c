// An API process and a worker process (HOOKGATE_ROLE=api and worker) on one PostgreSQL and one
// Redis: an event published on the API is sent by the worker at once, not at the worker's next
// poll (here an hour away), because the API tells every dispatcher over Redis that deliveries
// were queued (src/dispatcher/wake-signal.ts).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PublishEventDocument } from "../generated/graphql.js";
import { drillEnv, startGatewayProcess, type GatewayProcess } from "../support/drill.js";
import { createEventType, createService, createWebhook } from "../support/fixtures.js";
import { startPrivateRedis, type PrivateRedis } from "../support/private-servers.js";
import { runHookgate, type HookgateProcess } from "../support/processes.js";
import { eventually, startReceiver, type Receiver } from "../support/receiver.js";
import { needsServerBinaries } from "../support/servers.js";
import { createPostgresDatabase } from "../support/store.js";

const serversInstalled = needsServerBinaries("test/dispatcher/wake-across-processes.pg.test.ts", ["redis"]);

describe.runIf(serversInstalled)("a worker process is woken by publishes on an API process (Redis)", () => {
  let redis: PrivateRedis;
  let db: { url: string; drop: () => Promise<void> };
  let api: GatewayProcess;
  let worker: HookgateProcess;
  let receiver: Receiver;

  beforeAll(async () => {
    redis = await startPrivateRedis();
    db = await createPostgresDatabase();
    receiver = await startReceiver(() => ({ status: 204 }));
    // Polls an hour apart: only a wake can explain a delivery within seconds.
    const env = drillEnv(db.url, { REDIS_URL: redis.url, HOOKGATE_POLL_MS: "3600000" });
    api = await startGatewayProcess({ ...env, HOOKGATE_ROLE: "api" });
    worker = runHookgate("start", { ...env, HOOKGATE_ROLE: "worker" });
    await worker.waitForOutput(/hookgate started/);
  }, 90_000);
  afterAll(async () => {
    await worker?.kill("SIGKILL");
    await api?.process.kill("SIGKILL");
    await receiver?.close();
    await redis?.destroy();
    await db?.drop();
  });

  it("delivers each event within seconds", async () => {
    const type = await createEventType(api);
    const service = await createService(api);
    await createWebhook(service.client, { eventIds: [type.id], url: receiver.url("/woken") });
    for (const n of [1, 2, 3]) {
      const { publishEvent } = await api.admin.ok(PublishEventDocument, { input: { eventName: type.name, payload: { n } } });
      await eventually(() => receiver.requests.some((r) => r.headers["webhook-id"] === publishEvent.event.id), 10_000);
    }
    expect(receiver.requests.filter((r) => r.path === "/woken")).toHaveLength(3);
  }, 60_000);
});
