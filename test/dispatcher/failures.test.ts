import { createServer } from "node:net";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CreateWebhookDocument,
  PublishEventDocument,
  RetryDeliveryDocument,
  UpdateWebhookDocument,
  WebhookLogsDocument,
} from "../generated/graphql.js";
import { createEventType, createService, createWebhook } from "../support/fixtures.js";
import { startTestGateway, tableResolver, type TestGateway } from "../support/gateway.js";
import { eventually, startReceiver, type Receiver } from "../support/receiver.js";

let receiver: Receiver;
beforeAll(async () => {
  receiver = await startReceiver();
});
afterAll(async () => receiver?.close());

async function firstAttempt(t: TestGateway, url: string) {
  const service = await createService(t);
  const type = await createEventType(t);
  const hook = await createWebhook(service.client, { eventIds: [type.id], url });
  await t.admin.ok(PublishEventDocument, { input: { eventName: type.name, payload: { p: 1 } } });
  return eventually(async () => {
    const { webhookLogs } = await service.client.ok(WebhookLogsDocument, { webhookId: hook.webhook.id });
    return webhookLogs.edges[0]?.node.attempts[0];
  });
}

describe("failed attempts are classified", () => {
  let t: TestGateway;
  beforeAll(async () => {
    // Long enough that a loaded CI machine still sees resets and refusals before it; short enough to wait for.
    t = await startTestGateway({ HOOKGATE_DELIVERY_TIMEOUT_MS: "1500" });
  });
  afterAll(async () => t?.close());

  it("TIMEOUT when the receiver hangs past the total timeout", async () => {
    receiver.reply((r) => (r.path === "/hang" ? "hang" : { status: 200 }));
    const attempt = await firstAttempt(t, receiver.url("/hang"));
    expect(attempt).toMatchObject({ errorClass: "TIMEOUT", responseStatus: null, succeeded: false });
    expect(attempt.durationMs).toBeGreaterThanOrEqual(1400);
    expect(attempt.errorMessage).toContain("1500 ms");
  });

  it("retryDelivery refuses a delivery that is being sent right now (no second, parallel send)", async () => {
    receiver.reply((r) => (r.path === "/slow" ? "hang" : { status: 200 }));
    const service = await createService(t);
    const type = await createEventType(t);
    const hook = await createWebhook(service.client, { eventIds: [type.id], url: receiver.url("/slow") });
    await t.admin.ok(PublishEventDocument, { input: { eventName: type.name, payload: {} } });
    await eventually(() => receiver.requests.some((r) => r.path === "/slow"));
    const { webhookLogs } = await service.client.ok(WebhookLogsDocument, { webhookId: hook.webhook.id });
    const error = await service.client.fail(RetryDeliveryDocument, { deliveryId: webhookLogs.edges[0]!.node.id });
    expect(error.code).toBe("CONFLICT");
    expect(error.message).toContain("being sent right now");
    expect(receiver.requests.filter((r) => r.path === "/slow")).toHaveLength(1);
  });

  it("CONNECTION_RESET when the receiver drops the connection", async () => {
    receiver.reply((r) => (r.path === "/reset" ? "reset" : { status: 200 }));
    const attempt = await firstAttempt(t, receiver.url("/reset"));
    expect(attempt).toMatchObject({ errorClass: "CONNECTION_RESET", succeeded: false });
  });

  it("CONNECTION_REFUSED when nothing listens", async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const attempt = await firstAttempt(t, `http://127.0.0.1:${port}/nobody`);
    expect(attempt).toMatchObject({ errorClass: "CONNECTION_REFUSED", succeeded: false });
  });

  it("DNS when the host does not resolve", async () => {
    const attempt = await firstAttempt(t, "http://no-such-host.invalid/hook");
    expect(attempt).toMatchObject({ errorClass: "DNS", succeeded: false });
  });
});

describe("SSRF protection (HOOKGATE_ALLOW_PRIVATE_TARGETS=false)", () => {
  // A fixed DNS table: nothing is ever looked up on the network, and no test traffic leaves loopback.
  const table: Record<string, string[]> = {
    "intranet.test": ["10.1.2.3"],
    // A public address next to a private one: any private answer refuses the host. (Creation only
    // checks the answer; the webhook is refused, so nothing is ever sent to either address.)
    "mixed.test": ["93.184.216.34", "127.0.0.1"],
    "metadata.test": ["169.254.169.254"],
  };
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway({ env: { HOOKGATE_ALLOW_PRIVATE_TARGETS: "false" }, resolver: tableResolver(table) });
  });
  afterAll(async () => t?.close());

  it.each([
    "http://127.0.0.1:9/hook",
    "http://[::1]/hook",
    "http://localhost/hook",
    "http://10.0.0.1/hook",
    "http://192.168.1.1/hook",
    "http://172.16.0.1/hook",
    "http://100.64.0.1/hook",
    "http://169.254.169.254/latest/meta-data",
    "http://224.0.0.1/hook",
    "http://[fd00:ec2::254]/hook",
    "http://[::ffff:127.0.0.1]/hook",
    // IPv4-compatible IPv6 (::/96): ::7f00:1 is 127.0.0.1 to some stacks, 10.0.0.1 and a public one alike refused.
    "http://[::7f00:1]/hook",
    "http://[::127.0.0.1]/hook",
    "http://[::a00:1]/hook",
    "http://[::808:808]/hook",
    "http://0.0.0.0/hook",
    "http://intranet.test/hook",
    "http://mixed.test/hook",
    "http://metadata.test/hook",
  ])("refuses %s at creation", async (url) => {
    const service = await createService(t);
    const type = await createEventType(t);
    const error = await service.client.fail(CreateWebhookDocument, { input: { eventIds: [type.id], url } });
    expect(error.code).toBe("BAD_USER_INPUT");
    expect(error.field).toBe("input.url");
    expect(error.message).toMatch(/private targets are not allowed/);
  });

  it("checks again at delivery time and never connects when DNS now points inside (rebinding)", async () => {
    const service = await createService(t);
    const type = await createEventType(t);
    // Unresolvable at creation (accepted: its deliveries would fail with DNS) ...
    const hook = await createWebhook(service.client, { eventIds: [type.id], url: `http://rebind.test:${new URL(receiver.url()).port}/rebind` });
    // ... and by delivery time the name points at the loopback receiver.
    table["rebind.test"] = ["127.0.0.1"];
    await t.admin.ok(PublishEventDocument, { input: { eventName: type.name, payload: {} } });
    const attempt = await eventually(async () => {
      const { webhookLogs } = await service.client.ok(WebhookLogsDocument, { webhookId: hook.webhook.id });
      return webhookLogs.edges[0]?.node.attempts[0];
    });
    expect(attempt, attempt.errorMessage ?? "").toMatchObject({ errorClass: "BLOCKED_TARGET", succeeded: false, responseStatus: null });
    expect(attempt.errorMessage).toContain("127.0.0.1");
    expect(receiver.requests.filter((r) => r.path === "/rebind")).toHaveLength(0);
  });

  it("checks IPv4-compatible IPv6 answers at delivery time too (::7f00:1), never connecting", async () => {
    const service = await createService(t);
    const type = await createEventType(t);
    const hook = await createWebhook(service.client, { eventIds: [type.id], url: `http://compat.test:${new URL(receiver.url()).port}/compat` });
    table["compat.test"] = ["::7f00:1"];
    await t.admin.ok(PublishEventDocument, { input: { eventName: type.name, payload: {} } });
    const attempt = await eventually(async () => {
      const { webhookLogs } = await service.client.ok(WebhookLogsDocument, { webhookId: hook.webhook.id });
      return webhookLogs.edges[0]?.node.attempts[0];
    });
    expect(attempt, attempt.errorMessage ?? "").toMatchObject({ errorClass: "BLOCKED_TARGET", succeeded: false, responseStatus: null });
    expect(attempt.errorMessage).toContain("ipv4Compatible");
    expect(receiver.requests.filter((r) => r.path === "/compat")).toHaveLength(0);
  });

  it("refuses a private URL on update too, and changes nothing", async () => {
    const service = await createService(t);
    const type = await createEventType(t);
    const hook = await createWebhook(service.client, { eventIds: [type.id], url: "https://public.example/hook" });
    const error = await service.client.fail(UpdateWebhookDocument, { webhookId: hook.webhook.id, input: { url: "http://127.0.0.1/x" } });
    expect(error.code).toBe("BAD_USER_INPUT");
    const { webhookLogs } = await service.client.ok(WebhookLogsDocument, { webhookId: hook.webhook.id });
    expect(webhookLogs.edges).toHaveLength(0);
  });
});
