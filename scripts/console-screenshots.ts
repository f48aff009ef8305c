// Screenshots of the console's main pages into docs/console/*.png, for README.md: a real gateway
// (embedded PGlite in memory), real loopback receivers and Debian's chromium, as in
// test/console/console.test.ts. Three hours of traffic are made with a manual clock so the
// charts have something to show. Run: npm run console:screenshots
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { ManualClock } from "../src/clock.js";
import {
  CreateCustomerDocument,
  CreateEventTypeDocument,
  CreateWebhookDocument,
  CreateWebhookServiceDocument,
  PublishEventDocument,
  AttemptIdsDocument,
} from "../test/generated/graphql.js";
import { CHROMIUM, ensureConsoleBuilt, launchBrowser, signInWith } from "../test/support/browser.js";
import { startTestGateway } from "../test/support/gateway.js";
import { eventually, startReceiver } from "../test/support/receiver.js";
import { existsSync } from "node:fs";

if (!existsSync(CHROMIUM)) {
  console.error(`console:screenshots needs ${CHROMIUM} (apt-get install -y chromium)`);
  process.exit(2);
}
ensureConsoleBuilt();
const out = join(import.meta.dirname, "..", "docs", "console");
mkdirSync(out, { recursive: true });

const end = new Date();
const clock = new ManualClock(new Date(end.getTime() - 3 * 3_600_000));
const gw = await startTestGateway({ clock });
let calls = 0;
// Mostly fine, with a bad quarter of an hour and the odd failure, so the charts show both.
const shop = await startReceiver(() => {
  calls++;
  const minutes = (end.getTime() - clock.now().getTime()) / 60_000;
  const failing = (minutes > 95 && minutes < 115) || calls % 9 === 0;
  return failing
    ? { status: 503, headers: { "content-type": "text/html" }, body: "<html><body><h1>503 Service Unavailable</h1></body></html>" }
    : { status: 200, headers: { "content-type": "application/json" }, body: JSON.stringify({ received: true, at: clock.now().toISOString() }) };
});
const crm = await startReceiver(() => ({ status: 200, body: "ok" }));
const down = await startReceiver(() => ({ status: 500, headers: { "content-type": "text/plain" }, body: "database is down" }));

const admin = gw.admin;
const service = (await admin.ok(CreateWebhookServiceDocument, { input: { title: "Acme Shop", description: "Orders and payments" } })).createWebhookService;
await admin.ok(CreateWebhookServiceDocument, { input: { title: "Support desk", description: "Chat and tickets" } });
for (const [name, description, sampleData, scopes] of [
  ["order.created", "An order was placed", { orderId: 1042, total: "59.90", currency: "EUR" }, ["orders.read"]],
  ["order.paid", "An order's payment went through", { orderId: 1042, method: "card" }, ["orders.read", "payments.read"]],
  ["chat.message", "A customer wrote in the chat", { chatId: 7, text: "Hello!" }, ["customer.chat.read"]],
] as const) {
  await admin.ok(CreateEventTypeDocument, { input: { name, description, sampleData, scopes: [...scopes] } });
}
const s = { serviceId: service.service.id };
const orders = (await admin.ok(CreateWebhookDocument, { input: { ...s, url: shop.url("/webhooks/orders"), eventNames: ["order.created", "order.paid"] } })).createWebhook.webhook;
await admin.ok(CreateWebhookDocument, {
  input: { ...s, url: crm.url("/crm/hook"), eventNames: ["order.paid"], retryPolicy: "FIXED", retryIntervalSeconds: 60, retryWindowSeconds: 3600, auth: { basic: { username: "acme", password: "s3cret" } } },
});
const legacy = (
  await admin.ok(CreateWebhookDocument, { input: { ...s, url: down.url("/legacy"), eventNames: ["chat.message"], retryPolicy: "FIXED", retryIntervalSeconds: 900, retryWindowSeconds: 7200 } })
).createWebhook.webhook;
await admin.ok(CreateCustomerDocument, { input: { name: "Jane Doe", externalId: "user-17" } });

// Three hours of events, one every six minutes, each delivered before the clock moves on.
for (let i = 0; clock.now() < end; i++) {
  const eventName = i % 3 === 2 ? "chat.message" : i % 2 ? "order.paid" : "order.created";
  await admin.ok(PublishEventDocument, { input: { eventName, payload: { orderId: 1000 + i, total: `${(i * 7.3).toFixed(2)}` } } });
  gw.gateway.dispatcher!.wake();
  await new Promise((resolve) => setTimeout(resolve, 150));
  clock.advance(6 * 60_000);
}
clock.set(new Date());
await eventually(async () => {
  const logs = await admin.ok(AttemptIdsDocument, { webhookId: orders.id });
  return logs.webhookLogs.edges.every((e) => e.node.attempts.length > 0);
}, 30_000);

const origin = new URL(gw.gateway.url!).origin;
const browser = await launchBrowser();
try {
  const page = await browser.newPage({ width: 1280, height: 860 });
  const shot = async (name: string) => {
    await page.waitForTimeout(300);
    await page.screenshot({ path: join(out, `${name}.png`), fullPage: false });
    console.log(`docs/console/${name}.png`);
  };
  await page.goto(`${origin}/console/`);
  await shot("sign-in");
  await signInWith(page, origin, gw.config.HOOKGATE_ADMIN_TOKEN!);
  await page.locator(".chart").first().waitFor();
  await shot("webhooks");
  await page.goto(`${origin}/console/webhooks/${orders.id}`);
  await page.locator(".chart svg").waitFor();
  await shot("webhook");
  // The legacy receiver always fails: its deliveries show retries and their error answers.
  await page.goto(`${origin}/console/webhooks/${legacy.id}/deliveries`);
  await page.locator("[data-delivery]").first().waitFor();
  await page.locator("[data-delivery]").nth(3).getByRole("button", { name: /^#\d+$/ }).click();
  await page.getByRole("article").first().scrollIntoViewIfNeeded();
  await shot("deliveries");
  await page.goto(`${origin}/console/webhooks/${orders.id}/live`);
  await page.locator("[data-attempt]").first().waitFor();
  await page.locator("[data-attempt] button").first().click();
  await page.waitForTimeout(300);
  await page.screenshot({ path: join(out, "live-tail.png"), fullPage: true });
  console.log("docs/console/live-tail.png");
  await page.goto(`${origin}/console/webhooks/${orders.id}/settings`);
  await page.getByLabel("Policy").selectOption("FIXED");
  await shot("settings");
  await page.goto(`${origin}/console/event-types`);
  await page.getByRole("heading", { name: "order.created" }).waitFor();
  await shot("event-types");
  const phone = await browser.newPage({ width: 390, height: 844 });
  await signInWith(phone, origin, service.token);
  await phone.locator("tbody tr").first().waitFor();
  await phone.waitForTimeout(300);
  await phone.screenshot({ path: join(out, "phone-webhooks.png") });
  console.log("docs/console/phone-webhooks.png");
} finally {
  await browser.close();
  await gw.close();
  for (const r of [shop, crm, down]) await r.close();
}
