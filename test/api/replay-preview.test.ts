// replayPreview counts what replayWebhook would queue (the same selection, read only), so the
// console can show the count before a replay is confirmed.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../src/clock.js";
import { createEventType, createService, createWebhook } from "../support/fixtures.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";

const clock = new ManualClock(new Date("2026-11-29T10:00:00Z"));
let t: TestGateway;

const PREVIEW = `query($w: ID!, $since: DateTime!, $failed: Boolean) { replayPreview(webhookId: $w, since: $since, onlyFailed: $failed) { count limit } }`;
const REPLAY = `mutation($w: ID!, $since: DateTime!, $failed: Boolean) { replayWebhook(webhookId: $w, since: $since, onlyFailed: $failed) { queued } }`;
const PUBLISH = `mutation($input: PublishEventInput!) { publishEvent(input: $input) { deliveryCount } }`;

beforeAll(async () => {
  // No dispatcher: deliveries stay as the test leaves them.
  t = await startTestGateway({ clock, env: { HOOKGATE_ROLE: "api", HOOKGATE_MAX_REPLAY_DELIVERIES: "50" } });
});
afterAll(async () => t?.close());

describe("replayPreview", () => {
  it("counts what replayWebhook would queue: all or only failed, since a time; and the replay queues that many", async () => {
    const service = await createService(t);
    const type = await createEventType(t);
    const hook = await createWebhook(service.client, { eventIds: [type.id] });
    const w = hook.webhook.id;
    const since = clock.now().toISOString();
    for (const n of [1, 2, 3]) {
      expect((await t.admin.raw(PUBLISH, { input: { eventName: type.name, payload: { n } } })).errors).toBeUndefined();
    }
    await t.store.database.sql.query(
      `UPDATE deliveries SET status = 'FAILED' WHERE id = (SELECT min(id) FROM deliveries WHERE webhook_id = $1)`,
      [Number(w)],
    );
    clock.advance(60_000);
    const later = clock.now().toISOString();
    await t.admin.raw(PUBLISH, { input: { eventName: type.name, payload: { n: 4 } } });

    const preview = async (args: Record<string, unknown>) => {
      const result = await service.client.raw(PREVIEW, { w, ...args });
      expect(result.errors).toBeUndefined();
      return (result.data as { replayPreview: { count: number; limit: number } }).replayPreview;
    };
    expect(await preview({ since })).toEqual({ count: 4, limit: 50 });
    expect(await preview({ since, failed: true })).toEqual({ count: 1, limit: 50 });
    expect(await preview({ since: later })).toEqual({ count: 1, limit: 50 });
    clock.advance(60_000);
    expect(await preview({ since: clock.now().toISOString() })).toEqual({ count: 0, limit: 50 });

    // Nothing was queued by looking; the replay then queues exactly the count.
    const [row] = await t.store.database.sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM deliveries WHERE webhook_id = $1`, [Number(w)]);
    const before = row!.n;
    expect(before).toBe(4);
    const replay = await service.client.raw(REPLAY, { w, since, failed: true });
    expect(replay.data).toEqual({ replayWebhook: { queued: 1 } });
  });

  it("the admin or the owning service only; a missing webhook is NOT_FOUND", async () => {
    const owner = await createService(t);
    const other = await createService(t);
    const type = await createEventType(t);
    const hook = await createWebhook(owner.client, { eventIds: [type.id] });
    const since = clock.now().toISOString();
    const forbidden = await other.client.raw(PREVIEW, { w: hook.webhook.id, since });
    expect(forbidden.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    expect((await t.admin.raw(PREVIEW, { w: hook.webhook.id, since })).data).toEqual({ replayPreview: { count: 0, limit: 50 } });
    expect((await t.admin.raw(PREVIEW, { w: "999999", since })).errors?.[0]?.extensions?.code).toBe("NOT_FOUND");
  });
});
