// Concurrent publishes in one process share a statement (src/publishing/group-commit.ts). Sharing
// must not change what any one call means: each good call stores its event and its deliveries,
// each bad one gets its own error naming its field, calls sharing an idempotency key get one
// event, and a statement the store refuses fails only the call that caused it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCustomer, createEventType, createService, createWebhook } from "../support/fixtures.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";
import { refuseExplodingEvents } from "../support/store-rows.js";

const PUBLISH = `mutation($input: PublishEventInput!) { publishEvent(input: $input) { event { id idempotencyKey } duplicate deliveryCount } }`;

interface Answer {
  data?: { publishEvent: { event: { id: string; idempotencyKey: string | null }; duplicate: boolean; deliveryCount: number } | null } | null;
  errors?: { message: string; extensions?: { code?: string; field?: string } }[];
}

let t: TestGateway;
let type: { id: string; name: string };
let customer: { id: string; externalId: string };

beforeAll(async () => {
  t = await startTestGateway({ HOOKGATE_ROLE: "api", HOOKGATE_RATE_LIMIT_PUBLISH: "0", HOOKGATE_RATE_LIMIT_MUTATIONS: "0" });
  const service = await createService(t);
  customer = await createCustomer(t);
  type = await createEventType(t, "GROUPED");
  await createWebhook(service.client, { eventIds: [type.id] });
  await refuseExplodingEvents(t.store.database.sql);
});
afterAll(async () => t?.close());

const publish = (input: Record<string, unknown>) => t.admin.raw(PUBLISH, { input: { eventName: type.name, ...input } }) as Promise<Answer>;

describe("concurrent publishes sharing a statement", () => {
  it("each call gets its own outcome: events stored with their deliveries, errors naming the caller's field, one event per idempotency key", async () => {
    // Connections opened first, so the burst's requests arrive together (on PGlite the statement
    // runs on the gateway's thread: requests still connecting could join no group).
    await Promise.all(Array.from({ length: 60 }, () => t.admin.raw(`{ __typename }`)));
    const kinds: string[] = [];
    const calls: Promise<Answer>[] = [];
    const add = (kind: string, input: Record<string, unknown>) => {
      kinds.push(kind);
      calls.push(publish(input));
    };
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 8; i++) add("good", { payload: { round, i } });
      for (let i = 0; i < 3; i++) add(`key-${round}-${i}`, { payload: { round, i, first: true }, idempotencyKey: `k-${round}-${i}` });
      for (let i = 0; i < 3; i++) add(`key-${round}-${i}`, { payload: { round, i, second: true }, idempotencyKey: `k-${round}-${i}` });
      add("customer", { payload: { round }, customerExternalId: customer.externalId });
      add("no-type", { eventName: `NO_SUCH_TYPE_${round}`, payload: {} });
      add("no-customer", { payload: {}, customerExternalId: `nobody-${round}` });
      add("refused", { payload: { explode: round } });
    }
    const answers = await Promise.all(calls);

    const stored = new Set<string>();
    const byKey = new Map<string, Answer[]>();
    answers.forEach((answer, n) => {
      const kind = kinds[n]!;
      const result = answer.data?.publishEvent;
      if (kind === "good" || kind === "customer") {
        expect(answer.errors, JSON.stringify(answer)).toBeUndefined();
        expect(result!.duplicate).toBe(false);
        // The customer is not registered on the webhook: its event routes nowhere.
        expect(result!.deliveryCount).toBe(kind === "good" ? 1 : 0);
        stored.add(result!.event.id);
      } else if (kind.startsWith("key-")) {
        expect(answer.errors, JSON.stringify(answer)).toBeUndefined();
        byKey.set(kind, [...(byKey.get(kind) ?? []), answer]);
      } else if (kind === "no-type") {
        expect(answer.errors?.[0]?.extensions).toMatchObject({ code: "NOT_FOUND", field: "input.eventName" });
      } else if (kind === "no-customer") {
        expect(answer.errors?.[0]?.extensions).toMatchObject({ code: "NOT_FOUND", field: "input.customerExternalId" });
      } else {
        expect(answer.errors?.[0]?.extensions?.code, JSON.stringify(answer)).toBe("INTERNAL_SERVER_ERROR");
      }
    });
    for (const [key, pair] of byKey) {
      expect(pair, key).toHaveLength(2);
      const [a, b] = pair.map((p) => p.data!.publishEvent!);
      expect(a!.event.id, key).toBe(b!.event.id);
      expect([a!.duplicate, b!.duplicate].sort(), key).toEqual([false, true]);
      expect(a!.deliveryCount + b!.deliveryCount, key).toBe(1);
      stored.add(a!.event.id);
    }
    expect(stored.size).toBe(3 * (8 + 3 + 1));

    // The store holds exactly those events, each good one with its delivery, nothing of the refused ones.
    const rows = await t.store.database.sql.query<{ id: string; tx_id: string; deliveries: number; payload_text: string }>(
      `SELECT e.id::text AS id, e.tx_id::text AS tx_id, e.payload_text, (SELECT count(*)::int FROM deliveries d WHERE d.event_id = e.id) AS deliveries
       FROM events e WHERE e.event_type_id = $1`,
      [Number(type.id)],
    );
    expect(new Set(rows.map((r) => r.id))).toEqual(stored);
    // Every event but the customer's (payload without "i") routes to the webhook.
    expect(rows.filter((r) => r.deliveries !== (r.payload_text.includes('"i"') ? 1 : 0))).toEqual([]);
    // And the calls did share statements: some transaction stored more than one of them (the
    // paths a group takes, one by one, are in test/publishing/group-commit.test.ts).
    const perTransaction = new Map<string, number>();
    for (const r of rows) perTransaction.set(r.tx_id, (perTransaction.get(r.tx_id) ?? 0) + 1);
    expect(Math.max(...perTransaction.values())).toBeGreaterThan(1);
    // The metrics say so too.
    const metrics = await (await fetch(new URL("/metrics", t.gateway.url!), { headers: { authorization: `Bearer ${t.config.HOOKGATE_ADMIN_TOKEN}` } })).text();
    const count = Number(/^hookgate_publish_statement_calls_count (\S+)$/m.exec(metrics)?.[1]);
    const sum = Number(/^hookgate_publish_statement_calls_sum (\S+)$/m.exec(metrics)?.[1]);
    expect(sum).toBeGreaterThan(count);
  });
});
