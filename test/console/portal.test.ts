import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Page } from "playwright-core";
import { ManualClock } from "../../src/clock.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";
import { browserAvailable, ensureConsoleBuilt, launchBrowser, waitForText, type TestBrowser } from "../support/browser.js";
import { createCustomer, createEventType, createService, createWebhook, register } from "../support/fixtures.js";

// A portal link end to end: a service mints a session for one of its customers, the browser opens
// the link, the console signs in with the token from the fragment (and drops it from the address
// bar), shows the customer's view of that service, and says so when the session has expired (the
// gateway's clock moved past it).
describe.skipIf(!browserAvailable())("console opened from a portal link", () => {
  const clock = new ManualClock(new Date("2026-11-29T10:00:00Z"));
  let gw: TestGateway;
  let browser: TestBrowser;
  let page: Page;

  beforeAll(async () => {
    ensureConsoleBuilt();
    gw = await startTestGateway({ clock, env: { HOOKGATE_ROLE: "api", HOOKGATE_LIVE_POLL_MS: "50" } });
    browser = await launchBrowser();
    page = await browser.newPage();
  });

  afterAll(async () => {
    await browser?.close();
    await gw?.close();
  });

  it("signs the customer in from the link, without the token in the address bar, and says when the session has expired", async () => {
    const service = await createService(gw, "Portal Shop");
    const type = await createEventType(gw);
    const webhook = await createWebhook(service.client, { eventIds: [type.id] });
    const customer = await createCustomer(gw, "portal-customer");
    await register(customer.client, webhook.webhook.id);
    const minted = await service.client.raw(
      `mutation($c: ID!) { createPortalSession(input: { customerId: $c, expiresInSeconds: 300 }) { url token } }`,
      { c: customer.id },
    );
    expect(minted.errors).toBeUndefined();
    const { url, token } = (minted.data as { createPortalSession: { url: string; token: string } }).createPortalSession;
    expect(new URL(url).origin).toBe(new URL(gw.gateway.url!).origin);

    await page.goto(url);
    await page.getByRole("button", { name: "Sign out" }).waitFor();
    expect(page.url()).not.toContain(token);
    expect(page.url()).not.toContain("session=");
    await page.getByRole("heading", { name: "Webhooks for portal-customer" }).waitFor();
    await waitForText(page.locator("header"), "(via Portal Shop)");
    await page.getByTestId("session-expiry").waitFor();

    clock.advance(300_000);
    // The next thing the console asks of the gateway is refused: the console says why.
    await page.getByRole("link", { name: "My events" }).click();
    await waitForText(page.getByRole("status").first(), "Your session has expired");
    await page.getByLabel("API token").waitFor();
    expect(await page.evaluate(() => sessionStorage.getItem("hookgate.token"))).toBeNull();
  });

  it("says the session has expired when its time runs out, with no request made (a timer from the gateway's expiresInSeconds)", async () => {
    const service = await createService(gw, "Timer Shop");
    const minted = await service.client.raw(`mutation { createPortalSession(input: { expiresInSeconds: 120 }) { url } }`);
    expect(minted.errors).toBeUndefined();
    const { url } = (minted.data as { createPortalSession: { url: string } }).createPortalSession;
    // The browser's clock is far from the gateway's manual one: only the seconds left count.
    const timed = await browser.newPage();
    await timed.clock.install({ time: new Date("2031-01-01T00:00:00Z") });
    await timed.goto(url);
    await timed.getByRole("button", { name: "Sign out" }).waitFor();
    await timed.clock.fastForward(100_000);
    expect(await timed.getByRole("button", { name: "Sign out" }).isVisible()).toBe(true);
    // The gateway's clock does not move: a request would still succeed, so only the timer can end it.
    await timed.clock.fastForward(21_000);
    await waitForText(timed.getByRole("status").first(), "Your session has expired");
    await timed.getByLabel("API token").waitFor();
    expect(await timed.evaluate(() => sessionStorage.getItem("hookgate.token"))).toBeNull();
    await timed.close();
  });
});
