import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Page } from "playwright-core";
import { startTestGateway, type TestGateway } from "../support/gateway.js";
import { startTcpProxy } from "../support/tcp-proxy.js";
import { eventually, startReceiver, type Receiver } from "../support/receiver.js";
import { axeScan, browserAvailable, ensureConsoleBuilt, launchBrowser, signInWith, waitForCount, waitForText, type TestBrowser } from "../support/browser.js";
import {
  AttemptIdsDocument,
  CreateWebhookDocument,
  CreateWebhookServiceDocument,
  PublishEventDocument,
  PublishEventsDocument,
  WebhookLogsDocument,
  WebhooksDocument,
} from "../generated/graphql.js";

// The console end to end: a real gateway, real loopback receivers, Debian's chromium.
describe.skipIf(!browserAvailable())("console in a real browser", () => {
  let gw: TestGateway;
  let browser: TestBrowser;
  let ok: Receiver;
  let flaky: Receiver;
  let origin: string;
  let page: Page;
  const cspViolations: string[] = [];
  const pageErrors: string[] = [];
  /** Filled in by the first test, through the UI. */
  const made = { serviceToken: "", serviceId: "", webhookId: "" };

  beforeAll(async () => {
    ensureConsoleBuilt();
    gw = await startTestGateway();
    origin = new URL(gw.gateway.url!).origin;
    ok = await startReceiver(() => ({ status: 200, headers: { "content-type": "application/json" }, body: '{"received":true}' }));
    flaky = await startReceiver(() => ({ status: 500, headers: { "content-type": "text/html" }, body: '<h1>down</h1><img src="x" onerror="window.__pwned = 1"><script>window.__pwned = 2</script>' }));
    browser = await launchBrowser();
    page = await browser.newPage();
    page.on("console", (message) => {
      if (/Content Security Policy/i.test(message.text())) cspViolations.push(message.text());
    });
    page.on("pageerror", (error) => pageErrors.push(error.message));
  });

  afterAll(async () => {
    await browser?.close();
    await ok?.close();
    await flaky?.close();
    await gw?.close();
  });

  it("says so when the token is not valid", async () => {
    await page.goto(`${origin}/console/`);
    await page.getByLabel("API token").fill("hg_admin_not-a-real-token");
    await page.getByRole("button", { name: "Sign in" }).click();
    await waitForText(page.getByRole("alert"), "not valid");
  });

  it("lets the admin create a service, an event type and a webhook through the UI", async () => {
    await signInWith(page, origin, gw.config.HOOKGATE_ADMIN_TOKEN!);

    await page.getByRole("link", { name: "Services" }).click();
    await page.getByLabel("Title").fill("Shop");
    await page.getByRole("button", { name: "Create service" }).click();
    const token = page.getByLabel("API token of Shop");
    await token.waitFor();
    made.serviceToken = await token.inputValue();
    expect(made.serviceToken).toMatch(/^hg_/);
    await page.getByRole("button", { name: "Done" }).click();
    await waitForCount(page.getByLabel("API token of Shop"), 0);
    await page.getByRole("cell", { name: "Shop" }).waitFor();

    await page.getByRole("link", { name: "Event types" }).click();
    await page.getByLabel("Name").fill("order.created");
    await page.getByLabel("Description").fill("An order was placed");
    await page.getByLabel("Sample data (JSON, used by test events)").fill('{"orderId": 1, "total": "9.90"}');
    await page.getByRole("button", { name: "Create event type" }).click();
    await page.getByRole("heading", { name: "order.created" }).waitFor();

    await page.getByRole("link", { name: "Webhooks" }).click();
    await page.getByText("No webhooks yet").waitFor();
    await page.getByRole("button", { name: "New webhook" }).click();
    await page.getByLabel("Service").selectOption({ label: "Shop" });
    await page.getByLabel("URL").fill(ok.url("/orders"));
    await page.getByRole("checkbox", { name: "order.created" }).check();
    await waitForText(page.getByTestId("schedule"), "8 attempts");
    await page.getByRole("button", { name: "Create webhook" }).click();
    const secret = page.getByLabel("Signing secret");
    await secret.waitFor();
    expect(await secret.inputValue()).toMatch(/^whsec_/);

    const { webhooks } = await gw.admin.ok(WebhooksDocument, {});
    expect(webhooks.data).toHaveLength(1);
    expect(webhooks.data[0]).toMatchObject({ url: ok.url("/orders"), service: { id: expect.any(String) }, eventTypes: [{ name: "order.created" }] });
    made.webhookId = webhooks.data[0]!.id;
    made.serviceId = webhooks.data[0]!.service.id;
  });

  it("shows a published event's attempt live in the tail, with its request and response", async () => {
    await page.getByRole("link", { name: `#${made.webhookId}` }).click();
    await page.getByRole("link", { name: "Live tail" }).click();
    await page.getByText("No attempts yet").waitFor();
    await page.locator('[data-testid="conn"][data-state="connected"]').waitFor();

    const published = await gw.admin.ok(PublishEventDocument, { input: { eventName: "order.created", payload: { orderId: 42 } } });
    expect(published.publishEvent.deliveryCount).toBe(1);
    // No reload: the row arrives over the websocket.
    const row = page.locator("[data-attempt]").first();
    await row.waitFor({ timeout: 10_000 });
    await waitForText(row, "OK 200");
    await row.getByRole("button").click();
    const attempt = page.getByRole("article", { name: "Attempt 1" });
    await waitForText(attempt.getByLabel("Request body"), '"orderId": 42');
    await waitForText(attempt.getByLabel("Response body"), '"received": true');
    await waitForText(attempt.getByRole("table", { name: "Request headers" }), "webhook-signature");
  });

  it("retries a failing receiver's delivery from the UI until it is SUCCEEDED", async () => {
    const { createWebhook } = await gw.admin.ok(CreateWebhookDocument, {
      input: { serviceId: made.serviceId, url: flaky.url("/flaky"), eventNames: ["order.created"], retryPolicy: "FIXED", retryIntervalSeconds: 3600, retryWindowSeconds: 7200 },
    });
    const webhookId = createWebhook.webhook.id;
    await gw.admin.ok(PublishEventDocument, { input: { eventName: "order.created", payload: { orderId: 7 } } });
    await eventually(async () => {
      const logs = await gw.admin.ok(WebhookLogsDocument, { webhookId });
      return logs.webhookLogs.edges[0]?.node.status === "RETRYING";
    });

    await page.goto(`${origin}/console/webhooks/${webhookId}/deliveries`);
    const delivery = page.locator("[data-delivery]").first();
    await waitForText(delivery, "RETRYING");
    // The receiver's HTML error page is shown as text, never rendered.
    await delivery.getByRole("button", { name: /^#\d+$/ }).click();
    await waitForText(page.getByLabel("Response body").first(), "<h1>down</h1>");
    await waitForText(page.getByLabel("Response body").first(), "<script>window.__pwned = 2</script>");
    await waitForCount(page.getByRole("heading", { name: "down" }), 0);
    await waitForCount(page.getByLabel("Response body").first().locator("img, script"), 0);
    expect(await page.evaluate(() => (window as { __pwned?: number }).__pwned)).toBeUndefined();

    flaky.reply(() => ({ status: 204 }));
    await delivery.getByRole("button", { name: /^Retry delivery/ }).click();
    await eventually(async () => {
      await page.getByRole("button", { name: "Refresh" }).click();
      return (await page.locator("[data-delivery]").first().textContent())?.includes("SUCCEEDED");
    }, 15_000);
    const logs = await gw.admin.ok(WebhookLogsDocument, { webhookId });
    expect(logs.webhookLogs.edges[0]?.node.status).toBe("SUCCEEDED");

    // A replay shows the count it will queue before it is confirmed (replayPreview).
    const replayForm = page.getByRole("form", { name: "Replay" });
    await waitForText(replayForm.getByTestId("replay-preview"), "Choose a time");
    await replayForm.getByLabel("Since").fill("2000-01-01T00:00");
    await waitForText(replayForm.getByTestId("replay-preview"), "This replay will queue 0 deliveries.");
    await replayForm.getByLabel("Only failed deliveries").uncheck();
    await waitForText(replayForm.getByTestId("replay-preview"), "This replay will queue 1 delivery.");
    await replayForm.getByRole("button", { name: "Replay 1 delivery" }).click();
    await waitForText(page.getByRole("status").last(), "1 deliveries queued again.");
    expect((await gw.admin.ok(WebhookLogsDocument, { webhookId })).webhookLogs.edges).toHaveLength(2);
  });

  it("shows a service only its own webhooks", async () => {
    const other = await gw.admin.ok(CreateWebhookServiceDocument, { input: { title: "Other" } });
    await gw.admin.ok(CreateWebhookDocument, { input: { serviceId: other.createWebhookService.service.id, url: ok.url("/other-secret-path"), eventNames: ["order.created"] } });
    await page.getByRole("button", { name: "Sign out" }).click();
    await signInWith(page, origin, made.serviceToken);
    await page.getByText("Service: Shop").waitFor();
    await page.getByRole("table").waitFor();
    await waitForCount(page.locator("tbody tr"), 2);
    await page.getByText("/orders").waitFor();
    await waitForCount(page.getByText("/other-secret-path"), 0);
    await waitForCount(page.getByRole("link", { name: "Services" }), 0);
  });

  it("keeps both live tails whole across a dropped connection", async () => {
    // The browser reaches the gateway through a proxy the test can cut: the websocket really drops.
    const proxy = await startTcpProxy(Number(new URL(gw.gateway.url!).port));
    const via = `http://127.0.0.1:${proxy.port}`;
    const events = await browser.newPage();
    const attempts = await browser.newPage();
    try {
      await signInWith(events, via, gw.config.HOOKGATE_ADMIN_TOKEN!);
      await events.getByRole("link", { name: "Live events" }).click();
      await signInWith(attempts, via, gw.config.HOOKGATE_ADMIN_TOKEN!);
      await attempts.goto(`${via}/console/webhooks/${made.webhookId}/live`);
      for (const p of [events, attempts]) {
        await p.locator('[data-testid="conn"][data-state="connected"]').waitFor();
        await p.locator('[role="log"][data-loaded="true"]').waitFor();
      }

      // One attempt arrives live first: the attempt tail then holds its cursor.
      const first = (await gw.admin.ok(PublishEventDocument, { input: { eventName: "order.created", payload: { outage: 0 } } })).publishEvent.event.id;
      const firstAttempt = await eventually(async () => {
        const logs = await gw.admin.ok(AttemptIdsDocument, { webhookId: made.webhookId });
        return logs.webhookLogs.edges.find((e) => e.node.event.id === first)?.node.attempts[0]?.id;
      });
      await waitForCount(attempts.locator(`[data-attempt="${firstAttempt}"]`), 1, 10_000);

      proxy.cut();
      for (const p of [events, attempts]) await p.locator('[data-testid="conn"][data-state="reconnecting"]').waitFor();
      // More attempts while the browser is away than the 50 recent deliveries a webhookLogs
      // backfill would read: only resuming with the cursor brings them all.
      const batch = await gw.admin.ok(PublishEventsDocument, {
        input: { events: Array.from({ length: 60 }, (_, n) => ({ eventName: "order.created", payload: { outage: n + 1 } })) },
      });
      const published = batch.publishEvents.results.map((r) => r.event.id);
      const missed = await eventually(async () => {
        const logs = await gw.admin.ok(AttemptIdsDocument, { webhookId: made.webhookId, first: 100 });
        const mine = logs.webhookLogs.edges.filter((e) => published.includes(e.node.event.id) && e.node.status === "SUCCEEDED");
        return mine.length === published.length && mine.flatMap((e) => e.node.attempts.map((a) => a.id));
      }, 30_000);
      expect(missed).toHaveLength(60);
      proxy.restore();

      for (const p of [events, attempts]) await p.locator('[data-testid="conn"][data-state="connected"]').waitFor({ timeout: 20_000 });
      for (const id of published) await waitForCount(events.locator(`[data-event="${id}"]`), 1, 10_000);
      for (const id of missed) await waitForCount(attempts.locator(`[data-attempt="${id}"]`), 1, 10_000);
      // Each attempt once, though some came both from the backfill and the live feed.
      const shown = await attempts.locator("[data-attempt]").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-attempt")));
      expect(new Set(shown).size).toBe(shown.length);
    } finally {
      await events.close();
      await attempts.close();
      await proxy.close();
    }
  });

  it("works with the keyboard alone, and at a phone's width without scrolling sideways", async () => {
    const phone = await browser.newPage({ width: 390, height: 844 });
    /** Presses Tab until the focused element is `target` (at most 60 times). */
    const tabTo = async (target: import("playwright-core").Locator, what: string) => {
      for (let i = 0; i < 60; i++) {
        await phone.keyboard.press("Tab");
        if (await target.evaluate((el) => el === document.activeElement)) return;
      }
      throw new Error(`Tab never reached ${what}`);
    };
    const fitsWidth = () => phone.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
    try {
      await signInWith(phone, origin, made.serviceToken);
      await phone.locator("tbody tr").first().waitFor();
      expect(await fitsWidth()).toBe(true);
      await tabTo(phone.getByRole("link", { name: `#${made.webhookId}` }), "the webhook's link");
      await phone.keyboard.press("Enter");
      await phone.getByRole("heading", { name: new RegExp(`Webhook #${made.webhookId}`) }).waitFor();
      expect(await fitsWidth()).toBe(true);
      await tabTo(phone.getByRole("link", { name: "Live tail" }), "the Live tail tab");
      await phone.keyboard.press("Enter");
      const row = phone.locator("[data-attempt]").first().getByRole("button");
      await row.waitFor();
      expect(await fitsWidth()).toBe(true);
      await tabTo(row, "the newest attempt");
      await phone.keyboard.press("Enter");
      // The chosen attempt's request and response, with the focus moved there.
      const detail = phone.getByLabel("Selected attempt");
      await waitForText(detail, "Request");
      expect(await detail.evaluate((el) => el === document.activeElement)).toBe(true);
      await tabTo(phone.getByRole("button", { name: "Sign out" }), "Sign out");
      await phone.keyboard.press("Enter");
      await phone.getByLabel("API token").waitFor();
    } finally {
      await phone.close();
    }
  });

  /** axe's serious and critical findings on the pages that `visit` opens, one line each. */
  async function seriousViolations(visit: (check: (where: string) => Promise<void>) => Promise<void>): Promise<string[]> {
    const serious: string[] = [];
    await visit(async (where) => {
      for (const v of await axeScan(page)) {
        if (v.impact === "serious" || v.impact === "critical") serious.push(`${where}: ${v.id} (${v.help}) at ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
      }
    });
    return serious;
  }

  async function visitAll(check: (where: string) => Promise<void>, pages: readonly (readonly [string, string])[]): Promise<void> {
    for (const [path, ready] of pages) {
      await page.goto(`${origin}/console${path}`);
      await page.getByRole("heading", { name: ready }).waitFor();
      await check(path);
    }
  }

  it("has no serious or critical accessibility violations on the sign-in page and the webhook list", async () => {
    await page.getByRole("button", { name: "Sign out" }).click();
    const serious = await seriousViolations(async (check) => {
      await page.goto(`${origin}/console/`);
      await page.getByLabel("API token").waitFor();
      await check("sign-in");
      await signInWith(page, origin, gw.config.HOOKGATE_ADMIN_TOKEN!);
      await page.getByRole("table").waitFor();
      await check("webhooks");
    });
    expect(serious).toEqual([]);
  });

  it("has no serious or critical accessibility violations on a webhook's pages", async () => {
    const serious = await seriousViolations((check) =>
      visitAll(check, [
        [`/webhooks/${made.webhookId}`, "Attempts per minute, last 3 hours"],
        [`/webhooks/${made.webhookId}/deliveries`, "Replay"],
        [`/webhooks/${made.webhookId}/settings`, `Settings of webhook #${made.webhookId}`],
      ]),
    );
    expect(serious).toEqual([]);
  });

  it("has no serious or critical accessibility violations on the admin's pages, and the CSP was never broken", async () => {
    const serious = await seriousViolations((check) =>
      visitAll(check, [
        ["/event-types", "New event type"],
        ["/services", "New service"],
        ["/publish", "Publish a test event"],
        ["/events", "Live events"],
      ]),
    );
    expect(serious).toEqual([]);
    expect(cspViolations).toEqual([]);
    expect(pageErrors).toEqual([]);
  });

  it("shows a webhook whose extra headers do not open with the key, saying what to do, with no page error", async () => {
    const hook = await gw.admin.ok(CreateWebhookDocument, {
      input: { serviceId: made.serviceId, url: ok.url("/sealed-elsewhere"), eventNames: ["order.created"], requestHeaders: [{ name: "X-Key", value: "k" }] },
    });
    const id = hook.createWebhook.webhook.id;
    // What a process with another key leaves behind.
    await gw.store.database.sql.query("UPDATE webhooks SET request_headers_sealed = 'not sealed with this key' WHERE id = $1", [Number(id)]);
    const errorsBefore = pageErrors.length;
    await page.goto(`${origin}/console/webhooks/${id}`);
    await page.getByText("unreadable: sealed with another HOOKGATE_ENCRYPTION_KEY").waitFor();
    await page.getByText("/sealed-elsewhere").first().waitFor();
    expect(pageErrors.slice(errorsBefore)).toEqual([]);
  });
});
