// A webhook whose sealed secrets this process's HOOKGATE_ENCRYPTION_KEY does not open (a row
// damaged, or sealed by a process with another key): its deliveries are not sent and not claimed
// again and again; each claim records a failed attempt (SECRET_UNREADABLE) on the retry schedule,
// visible in webhookLogs and the metrics, logged once per webhook per interval, never with the
// secret. Retry timing is proven with a manual clock, as in retries.test.ts.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../src/clock.js";
import { UNREADABLE_LOG_INTERVAL_MS } from "../../src/dispatcher/dispatcher.js";
import { EXPONENTIAL_DELAYS_MS } from "../../src/dispatcher/retry-schedule.js";
import { PublishEventDocument, RotateWebhookSecretDocument, WebhookLogsDocument } from "../generated/graphql.js";
import { createEventType, createService, createWebhook } from "../support/fixtures.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";
import { capturingLogger, sample } from "../support/http.js";
import { eventually, startReceiver, type Receiver } from "../support/receiver.js";
import { baseOf, rest } from "../support/rest.js";

const clock = new ManualClock(new Date("2026-03-02T00:00:00Z"));
const logs = capturingLogger("info");
let t: TestGateway;
let receiver: Receiver;
beforeAll(async () => {
  t = await startTestGateway({ clock, random: () => 0.5, logger: logs.logger });
  receiver = await startReceiver();
});
afterAll(async () => {
  await t?.close();
  await receiver?.close();
});

const GARBAGE = "v1.bm90LWFuLWl2.bm90LWEtdGFn.c2VhbGVkLWVsc2V3aGVyZQ";

/** A webhook on the loopback receiver; with `corrupt`, one of its sealed columns overwritten. */
async function webhook(corrupt?: { column: string; value: string }) {
  const service = await createService(t);
  const type = await createEventType(t);
  const path = `/unreadable/${type.id}`;
  const hook = await createWebhook(service.client, { eventIds: [type.id], url: receiver.url(path) });
  // What a process with another key (or a damaged row) leaves behind; updated_at is left as it was.
  if (corrupt) await t.gateway.database.sql.query(`UPDATE webhooks SET ${corrupt.column} = $1 WHERE id = $2`, [corrupt.value, Number(hook.webhook.id)]);
  const deliveries = async () =>
    (await service.client.ok(WebhookLogsDocument, { webhookId: hook.webhook.id })).webhookLogs.edges.map((e) => e.node);
  return { service, type, path, hook, deliveries };
}

async function attempts<T extends { attemptCount: number }>(deliveries: () => Promise<T[]>, n: number): Promise<T> {
  return eventually(async () => {
    const [latest] = await deliveries();
    return latest && latest.attemptCount === n && latest;
  });
}

const unreadableLines = () => logs.lines.filter((l) => l.includes("SECRET_UNREADABLE"));

describe("a webhook whose secrets do not open with this key", () => {
  it("gets a failed SECRET_UNREADABLE attempt on the retry schedule, is never called, and is logged once", async () => {
    const { type, path, hook, deliveries } = await webhook({ column: "signing_secret_sealed", value: GARBAGE });
    await t.admin.ok(PublishEventDocument, { input: { eventName: type.name, payload: { n: 1 } } });
    t.gateway.dispatcher!.wake();
    let delivery = await attempts(deliveries, 1);
    expect(delivery.status).toBe("RETRYING");
    const [attempt] = delivery.attempts;
    expect(attempt).toMatchObject({ errorClass: "SECRET_UNREADABLE", succeeded: false, responseStatus: null, attemptNumber: 1 });
    expect(attempt!.errorMessage).toContain("HOOKGATE_ENCRYPTION_KEY");
    expect(attempt!.errorMessage).toContain("signingSecret");
    expect(attempt!.errorMessage).toContain("rotateWebhookSecret");
    expect(attempt!.errorMessage).not.toContain(GARBAGE);
    expect(Date.parse(delivery.nextAttemptAt!) - Date.parse(delivery.lastAttemptAt!)).toBe(EXPONENTIAL_DELAYS_MS[0]);

    // Not claimed again before its next attempt is due (no spinning at every lease end) ...
    clock.advance(EXPONENTIAL_DELAYS_MS[0]! - 1);
    await t.gateway.dispatcher!.settle();
    expect((await deliveries())[0]!.attemptCount).toBe(1);
    // ... and due on the schedule: a second failed attempt, then the next delay.
    clock.advance(1);
    t.gateway.dispatcher!.wake();
    delivery = await attempts(deliveries, 2);
    expect(delivery.attempts.map((a) => a.errorClass)).toEqual(["SECRET_UNREADABLE", "SECRET_UNREADABLE"]);
    expect(Date.parse(delivery.nextAttemptAt!) - Date.parse(delivery.lastAttemptAt!)).toBe(EXPONENTIAL_DELAYS_MS[1]);
    expect(receiver.requests.filter((r) => r.path === path)).toHaveLength(0);

    // Visible in the metrics by its class.
    const metrics = await t.gateway.services.metrics.registry.metrics();
    expect(sample(metrics, "hookgate_delivery_attempt_errors_total", { error_class: "SECRET_UNREADABLE" })).toBeGreaterThanOrEqual(2);

    // Logged once for the two attempts (within the interval), naming the webhook and the field, never the sealed value.
    const lines = unreadableLines().filter((l) => JSON.parse(l).webhookId === Number(hook.webhook.id));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain("HOOKGATE_ENCRYPTION_KEY");
    expect(lines[0]).toContain("signingSecret");
    expect(logs.text()).not.toContain(GARBAGE);
    // Once the interval has passed, the next attempt logs it again.
    clock.advance(Math.max(EXPONENTIAL_DELAYS_MS[1]!, UNREADABLE_LOG_INTERVAL_MS));
    t.gateway.dispatcher!.wake();
    await attempts(deliveries, 3);
    expect(unreadableLines().filter((l) => JSON.parse(l).webhookId === Number(hook.webhook.id))).toHaveLength(2);
  });

  it("does not hold up a readable webhook, and delivers again once the secret is rotated", async () => {
    const broken = await webhook({ column: "request_headers_sealed", value: "not sealed at all" });
    const fine = await webhook();
    await t.admin.ok(PublishEventDocument, { input: { eventName: broken.type.name, payload: { n: 2 } } });
    await t.admin.ok(PublishEventDocument, { input: { eventName: fine.type.name, payload: { n: 3 } } });
    t.gateway.dispatcher!.wake();
    const failed = await attempts(broken.deliveries, 1);
    expect(failed.attempts[0]).toMatchObject({ errorClass: "SECRET_UNREADABLE" });
    expect(failed.attempts[0]!.errorMessage).toContain("requestHeaders");
    // The API says so too: the webhook reads, its requestHeaders are null with an error naming
    // the field (not INTERNAL_SERVER_ERROR, and not the whole webhook or list gone).
    const read = await broken.service.client.raw(
      `query($id: ID!) { webhook(id: $id) { id url requestHeaders { name value } } webhooks { data { id requestHeaders { name } } } }`,
      { id: broken.hook.webhook.id },
    );
    expect(read.data, JSON.stringify(read)).toBeTruthy();
    const data = read.data as { webhook: { id: string; url: string; requestHeaders: null }; webhooks: { data: { id: string; requestHeaders: unknown }[] } };
    expect(data.webhook).toMatchObject({ id: broken.hook.webhook.id, requestHeaders: null });
    expect(data.webhooks.data).toEqual([{ id: broken.hook.webhook.id, requestHeaders: null }]);
    expect(read.errors).toHaveLength(2);
    for (const error of read.errors!) {
      expect(error.extensions).toMatchObject({ code: "SECRET_UNREADABLE", field: "requestHeaders" });
      expect(error.message).toContain("updateWebhook");
    }
    // And over REST (Basalam's webhook resource): the webhook, its headers null.
    const overRest = await rest(baseOf(t.gateway.url!), "GET", `/v1/webhooks?service_id=${broken.service.id}`, { token: broken.service.token });
    expect(overRest.status, overRest.text).toBe(200);
    expect((overRest.json as { data: unknown[] }).data).toMatchObject([{ id: Number(broken.hook.webhook.id), request_headers: null }]);
    const sent = await attempts(fine.deliveries, 1);
    expect(sent.status).toBe("SUCCEEDED");
    expect(receiver.requests.filter((r) => r.path === broken.path)).toHaveLength(0);

    // The remedy the message names: setting the secrets again (here the signing secret; the headers are set again too).
    await t.gateway.database.sql.query(`UPDATE webhooks SET request_headers_sealed = $1 WHERE id = $2`, [
      t.gateway.services.secrets.seal("[]"),
      Number(broken.hook.webhook.id),
    ]);
    await broken.service.client.ok(RotateWebhookSecretDocument, { webhookId: broken.hook.webhook.id });
    clock.advance(EXPONENTIAL_DELAYS_MS[0]!);
    t.gateway.dispatcher!.wake();
    const delivered = await attempts(broken.deliveries, 2);
    expect(delivered.status).toBe("SUCCEEDED");
    expect(receiver.requests.filter((r) => r.path === broken.path)).toHaveLength(1);
  });

  it("a rotation drops a current secret that does not open instead of signing with it for 24 hours", async () => {
    const { service, type, path, hook, deliveries } = await webhook({ column: "signing_secret_sealed", value: GARBAGE });
    const { rotateWebhookSecret } = await service.client.ok(RotateWebhookSecretDocument, { webhookId: hook.webhook.id });
    await t.admin.ok(PublishEventDocument, { input: { eventName: type.name, payload: { n: 4 } } });
    t.gateway.dispatcher!.wake();
    const delivery = await attempts(deliveries, 1);
    expect(delivery.status).toBe("SUCCEEDED");
    const received = receiver.requests.filter((r) => r.path === path);
    expect(received).toHaveLength(1);
    // One signature: the new secret's only.
    expect(String(received[0]!.headers["webhook-signature"]).split(" ")).toHaveLength(1);
    expect(rotateWebhookSecret.signingSecret).toMatch(/^whsec_/);
  });
});
