import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Client } from "graphql-ws";
import { publishStatement } from "../../src/publishing/publish-sql.js";
import { PublishEventDocument } from "../generated/graphql.js";
import { drillEnv, startGatewayProcess, type GatewayProcess } from "../support/drill.js";
import { createEventType, createService, createWebhook } from "../support/fixtures.js";
import { collect, waitForItems, wsClient } from "../support/live.js";
import { eventually, startReceiver, type Receiver } from "../support/receiver.js";
import { createPostgresDatabase } from "../support/store.js";

const LIVE = `subscription($n: [String!], $after: ID) { eventPublished(eventNames: $n, after: $after) { id cursor } }`;

/**
 * Two gateway processes on one PostgreSQL (no Redis: each learns of the other's events from the
 * store) and a third session holding a publish transaction open: the publishers share no lock,
 * and the live feed still gives one gapless order once the slow transaction commits.
 */
describe("publishing without a lock shared by all publishers (PostgreSQL, two processes)", () => {
  let receiver: Receiver;
  let db: { url: string; drop: () => Promise<void> };
  let a: GatewayProcess;
  let b: GatewayProcess;
  const clients: Client[] = [];
  const sessions: pg.Client[] = [];

  beforeAll(async () => {
    receiver = await startReceiver(() => ({ status: 204 }));
    db = await createPostgresDatabase();
    const env = drillEnv(db.url, { HOOKGATE_LIVE_POLL_MS: "200" });
    a = await startGatewayProcess(env);
    b = await startGatewayProcess(env);
  }, 60_000);
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.dispose()));
    await Promise.all(sessions.map((s) => s.end().catch(() => undefined)));
    await Promise.all([a, b].filter(Boolean).map((g) => g.process.kill("SIGKILL")));
    await receiver?.close();
    await db?.drop();
  });

  const session = async () => {
    const s = new pg.Client({ connectionString: db.url });
    await s.connect();
    sessions.push(s);
    return s;
  };
  const metric = async (g: GatewayProcess, name: string) => {
    const text = await (await fetch(`${g.origin}/metrics`)).text();
    return Number(new RegExp(`^${name} (\\S+)$`, "m").exec(text)?.[1]);
  };

  it("while one publish transaction is held open, the other process's publishes commit and are delivered; once it commits, live subscribers get every event in one order, and a resume from a cursor gets the rest", async () => {
    const type = await createEventType(a);
    const service = await createService(a);
    await createWebhook(service.client, { eventIds: [type.id], url: receiver.url("/order") });
    const publishOn = async (g: GatewayProcess, payload: unknown) =>
      (await g.admin.ok(PublishEventDocument, { input: { eventName: type.name, payload } })).publishEvent.event.id;

    const marker = await publishOn(a, { marker: true });
    const onB = wsClient(b.url, b.admin.token);
    const onA = wsClient(a.url, a.admin.token);
    clients.push(onA, onB);
    const sub = collect<{ id: string; cursor: string }>(onB, LIVE, { n: [type.name], after: marker });

    // A slow publisher: the publisher's own statement, in a transaction left open.
    const held = await session();
    await held.query("BEGIN");
    // v: the version of the event type's payload schema the payload was checked against (0: never set).
    const input = [{ i: 0, n: type.name, t: null, c: null, x: null, p: '{"held":true}', k: null, v: 0 }];
    const statement = publishStatement("route");
    const { rows } = await held.query(statement.text, [JSON.stringify(input), new Date().toISOString()]);
    const heldId = String(rows[0].id);

    // Meanwhile both processes publish; each call commits and its event is delivered.
    const during = await Promise.all([
      ...[0, 1, 2, 3, 4].map((i) => publishOn(a, { during: i, on: "a" })),
      ...[0, 1, 2, 3, 4].map((i) => publishOn(b, { during: i, on: "b" })),
    ]);
    await eventually(() => during.every((id) => receiver.requests.some((r) => r.headers["webhook-id"] === id)), 20_000);
    // Live subscribers wait: the open transaction's event may still come before them.
    expect(sub.items).toEqual([]);
    // …and the wait shows in the metric.
    await eventually(async () => (await metric(b, "hookgate_live_horizon_wait_seconds")) > 0, 10_000);

    await held.query("COMMIT");
    await waitForItems(sub, 11, 20_000);
    const check = await session();
    const order = (
      await check.query(
        // (e.id: a bare "id" would name the output column, the text, and sort "10" before "9".)
        `SELECT e.id::text AS id FROM events e WHERE e.event_name = $1 AND e.id <> $2::bigint ORDER BY coalesce(e.tx_id, 0), e.id`,
        [type.name, marker],
      )
    ).rows.map((r: { id: string }) => r.id);
    expect(order[0]).toBe(heldId);
    expect(new Set(order)).toEqual(new Set([heldId, ...during]));
    expect(sub.items.map((e) => e.id)).toEqual(order);
    await eventually(async () => (await metric(b, "hookgate_live_horizon_wait_seconds")) === 0, 10_000);
    // The held event is delivered too.
    await eventually(() => receiver.requests.some((r) => r.headers["webhook-id"] === heldId), 20_000);

    // Resuming on the other process from the first event's cursor: exactly the rest, same order.
    const resumed = collect<{ id: string; cursor: string }>(onA, LIVE, {
      n: [type.name],
      after: sub.items[0]!.cursor,
    });
    await waitForItems(resumed, 10, 20_000);
    expect(resumed.items.map((e) => e.id)).toEqual(order.slice(1));
  }, 90_000);
});
