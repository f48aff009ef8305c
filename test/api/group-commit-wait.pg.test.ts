// A publish whose statement waits on a lock (its idempotency key is being stored by a transaction
// still open elsewhere) does not hold up the process's other publishes, although they would
// otherwise wait for the statement in flight to share the next one (group-commit.ts, MAX_WAIT_MS).
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { publishStatement } from "../../src/publishing/publish-sql.js";
import { createEventType, createService, createWebhook } from "../support/fixtures.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";
import { eventually } from "../support/receiver.js";

const PUBLISH = `mutation($input: PublishEventInput!) { publishEvent(input: $input) { event { id } duplicate deliveryCount } }`;
type Answer = { data?: { publishEvent: { event: { id: string }; duplicate: boolean; deliveryCount: number } }; errors?: unknown[] };

let t: TestGateway;
let held: pg.Client;
/** Reads pg_stat_activity outside any transaction (one inside sees the sessions as they were when it first looked). */
let watcher: pg.Client;
let type: { id: string; name: string };

beforeAll(async () => {
  t = await startTestGateway({ HOOKGATE_ROLE: "api" });
  const service = await createService(t);
  type = await createEventType(t, "WAITING");
  await createWebhook(service.client, { eventIds: [type.id] });
  held = new pg.Client({ connectionString: t.store.url });
  await held.connect();
  watcher = new pg.Client({ connectionString: t.store.url });
  await watcher.connect();
});
afterAll(async () => {
  await held?.end().catch(() => undefined);
  await watcher?.end().catch(() => undefined);
  await t?.close();
});

describe("a publish waiting on a lock", () => {
  it("lets the other publishes through meanwhile (a retry of its key waits with it), and gets the other transaction's event once it commits", async () => {
    // Connections opened first, so the calls below arrive together.
    await Promise.all(Array.from({ length: 25 }, () => t.admin.raw(`{ __typename }`)));
    // Another transaction stores an event with key "gate" (the publisher's own statement) and stays open.
    await held.query("BEGIN");
    const input = [{ i: 0, n: type.name, t: null, c: null, x: null, p: '{"held":true}', k: "gate", v: 0, o: null }];
    const statement = publishStatement("route");
    const heldId = String((await held.query(statement.text, [JSON.stringify(input), new Date().toISOString()])).rows[0].id);

    let settled = 0;
    const publishGate = (n: number) =>
      (t.admin.raw(PUBLISH, { input: { eventName: type.name, payload: { gate: n }, idempotencyKey: "gate" } }) as Promise<Answer>).finally(() => {
        settled++;
      });
    const gate = publishGate(1);
    // Until the open transaction ends, the gate's statement waits on its key.
    await eventually(async () => {
      const { rows } = await watcher.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`);
      return rows[0].n === 1;
    }, 10_000);
    // A retry of the same key (as a client whose call is slow would send), sent with the others:
    // it waits for the first one's statement, without pulling the others into that wait.
    const retry = publishGate(2);
    const others = (await Promise.all(
      Array.from({ length: 20 }, (_, i) => t.admin.raw(PUBLISH, { input: { eventName: type.name, payload: { other: i } } })),
    )) as Answer[];
    for (const answer of others) {
      expect(answer.errors, JSON.stringify(answer)).toBeUndefined();
      expect(answer.data!.publishEvent.deliveryCount).toBe(1);
    }
    expect(settled).toBe(0);

    await held.query("COMMIT");
    for (const answer of await Promise.all([gate, retry])) {
      expect(answer.errors, JSON.stringify(answer)).toBeUndefined();
      expect(answer.data!.publishEvent).toMatchObject({ event: { id: heldId }, duplicate: true, deliveryCount: 0 });
    }
  });
});
