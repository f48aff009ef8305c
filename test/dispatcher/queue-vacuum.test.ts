// The delivery queue churns two dead rows per delivery (the claim's update, the record's delete).
// PGlite has no autovacuum, and a PostgreSQL server may run with it off: there the dispatcher
// vacuums the queue itself, and /metrics shows the queue table's dead rows and size. (Before,
// nothing vacuumed it there: an embedded installation's every claim walked an ever longer trail
// of dead rows.)
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEventType, createService, createWebhook } from "../support/fixtures.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";
import { eventually, startReceiver, type Receiver } from "../support/receiver.js";

const gauge = async (t: TestGateway, name: string): Promise<number> => {
  const response = await fetch(`${new URL(t.gateway.url!).origin}/metrics`, {
    headers: { authorization: `Bearer ${t.config.HOOKGATE_ADMIN_TOKEN}` },
  });
  const line = (await response.text()).split("\n").find((l) => l.startsWith(`${name} `));
  if (!line) throw new Error(`${name} is not in /metrics`);
  return Number(line.slice(name.length + 1));
};

describe("the dispatcher vacuums the delivery queue where autovacuum does not", () => {
  let t: TestGateway;
  let receiver: Receiver;

  beforeAll(async () => {
    receiver = await startReceiver(() => ({ status: 204 }));
    t = await startTestGateway();
    // On PostgreSQL, autovacuum off for this test database's queue (this machine's server may
    // have it on or off as a whole): the case the dispatcher must then handle itself.
    if (t.store.database.kind === "postgres") await t.store.database.sql.exec(`ALTER TABLE delivery_queue SET (autovacuum_enabled = false)`);
  });
  afterAll(async () => {
    await t?.close();
    await receiver?.close();
  });

  it("leaves no dead rows and an empty table once the queue has drained", async () => {
    const type = await createEventType(t);
    const service = await createService(t);
    await createWebhook(service.client, { eventIds: [type.id], url: receiver.url("/hook") });
    const events = 300;
    await t.admin.raw(`mutation($input: PublishEventsInput!) { publishEvents(input: $input) { results { deliveryCount } } }`, {
      input: { events: Array.from({ length: events }, (_, i) => ({ eventName: type.name, payload: { i } })) },
    });
    await eventually(() => expect(receiver.requests.length).toBe(events), 30_000);
    await eventually(async () => expect(await gauge(t, "hookgate_queue_depth")).toBe(0), 30_000);
    // Every delivery left dead rows behind (statistics reach the counters within seconds), and the table kept its pages.
    await eventually(async () => expect(await gauge(t, "hookgate_queue_dead_rows")).toBeGreaterThan(0), 30_000);
    expect(await gauge(t, "hookgate_queue_table_bytes")).toBeGreaterThan(0);

    expect(await t.gateway.queueVacuum!.runOnce()).toBe(true);
    // The drained queue's table is empty: vacuum removed the dead rows and gave its pages back.
    // (The dead-row count itself may lag behind: backends report their statistics a while later.)
    expect(await gauge(t, "hookgate_queue_table_bytes")).toBe(0);
  });

  it("leaves the queue to autovacuum where it runs", async () => {
    if (t.store.database.kind !== "postgres") return; // PGlite has no autovacuum: the first case is its only one
    const other = await startTestGateway();
    try {
      const [row] = await other.store.database.sql.query<{ on: string }>(`SELECT current_setting('autovacuum') AS on`);
      // With the server's autovacuum on, the dispatcher does not vacuum; with it off, it does.
      expect(await other.gateway.queueVacuum!.runOnce()).toBe(row!.on !== "on");
    } finally {
      await other.close();
    }
  });
});
