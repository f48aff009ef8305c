// Portal sessions (createPortalSession): short-lived tokens behind a console link. Minted by the
// admin or a service; a customer session a service mints sees only that service's webhooks and
// the customer's events routed to them; refused once expired (the gateway's clock, advanced by
// the test) or revoked, over HTTP and graphql-ws, and open streams end then.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../src/clock.js";
import { hashToken } from "../../src/auth/tokens.js";
import { createCustomer, createEventType, createService, createWebhook, register } from "../support/fixtures.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";
import { collect, EVENT_PUBLISHED, sseSubscribe, waitForItems, wsClient, type LiveEvent } from "../support/live.js";
import { eventually } from "../support/receiver.js";

const clock = new ManualClock(new Date("2026-11-29T10:00:00Z"));
let t: TestGateway;

const MINT = `mutation($input: CreatePortalSessionInput!) {
  createPortalSession(input: $input) { token url expiresAt apiToken { id label expiresAt scopeServiceId } }
}`;
const ME = `{ me { kind expiresAt service { id } customer { id } scopeService { id } } }`;
const REVOKE = `mutation($id: ID!) { revokeApiToken(tokenId: $id) { id revokedAt } }`;
const EVENTS = `{ events(first: 50) { edges { node { id eventName } } } }`;
const WEBHOOKS = `{ webhooks { data { id service { id } } } registeredWebhooks { data { id } } }`;
const PUBLISH = `mutation($input: PublishEventInput!) { publishEvent(input: $input) { event { id eventName } } }`;

interface Minted {
  token: string;
  url: string;
  expiresAt: string;
  apiToken: { id: string; label: string; expiresAt: string; scopeServiceId: string | null };
}

async function mint(client: TestGateway["admin"], input: Record<string, unknown>): Promise<Minted> {
  const result = await client.raw(MINT, { input });
  expect(result.errors).toBeUndefined();
  return (result.data as { createPortalSession: Minted }).createPortalSession;
}

const code = (result: { errors?: readonly { extensions?: Record<string, unknown> }[] }) => result.errors?.[0]?.extensions?.code;

beforeAll(async () => {
  t = await startTestGateway({ clock, env: { HOOKGATE_ROLE: "api", HOOKGATE_LIVE_POLL_MS: "50" } });
});
afterAll(async () => t?.close());

/** Two services, each with a webhook of its own event type; one customer registered on both. */
async function twoServices() {
  const s1 = await createService(t);
  const s2 = await createService(t);
  const type1 = await createEventType(t);
  const type2 = await createEventType(t);
  const w1 = await createWebhook(s1.client, { eventIds: [type1.id] });
  const w2 = await createWebhook(s2.client, { eventIds: [type2.id] });
  const customer = await createCustomer(t);
  await register(customer.client, w1.webhook.id);
  await register(customer.client, w2.webhook.id);
  return { s1, s2, type1, type2, w1: w1.webhook.id, w2: w2.webhook.id, customer };
}

describe("minting", () => {
  it("a service mints a session for itself: a token that expires in an hour by default, and a console link with it in the fragment", async () => {
    const s = await createService(t);
    const session = await mint(s.client, {});
    expect(session.token).toMatch(/^hg_svc_/);
    expect(session.url).toBe(`${t.gateway.url!.replace(/\/graphql$/, "")}/console/#session=${session.token}`);
    expect(new Date(session.expiresAt).getTime()).toBe(clock.now().getTime() + 3600_000);
    expect(session.apiToken).toMatchObject({ label: "portal session", scopeServiceId: null });
    // Stored hashed: the token itself is nowhere in the table.
    const rows = await t.store.database.sql.query<{ token_hash: string }>(`SELECT token_hash FROM api_tokens WHERE id = $1`, [Number(session.apiToken.id)]);
    expect(rows[0]!.token_hash).toBe(hashToken(session.token));
    const me = await t.as(session.token).raw(ME);
    expect(me.data).toEqual({ me: { kind: "SERVICE", expiresAt: session.expiresAt, service: { id: s.id }, customer: null, scopeService: null } });
  });

  it("HOOKGATE_PUBLIC_URL is the link's base", async () => {
    const other = await startTestGateway({ clock, env: { HOOKGATE_ROLE: "api", HOOKGATE_PUBLIC_URL: "https://hooks.example.com/" } });
    try {
      const s = await createService(other);
      const session = await mint(s.client, {});
      expect(session.url).toBe(`https://hooks.example.com/console/#session=${session.token}`);
    } finally {
      await other.close();
    }
  });

  it("expiresInSeconds is bounded (60 s to 24 h): outside is BAD_USER_INPUT naming the field", async () => {
    const s = await createService(t);
    for (const expiresInSeconds of [59, 86_401, 0, -5]) {
      const result = await s.client.raw(MINT, { input: { expiresInSeconds } });
      expect(code(result)).toBe("BAD_USER_INPUT");
      expect(result.errors?.[0]?.extensions?.field).toBe("input.expiresInSeconds");
    }
    const day = await mint(s.client, { expiresInSeconds: 86_400 });
    expect(new Date(day.expiresAt).getTime()).toBe(clock.now().getTime() + 86_400_000);
  });

  it("who may: the admin for itself, a service or a customer (scoped or not); a service for itself and its registered customers only", async () => {
    const { s1, s2, customer } = await twoServices();
    const stranger = await createCustomer(t);
    // A customer on no webhook of s1: NOT_FOUND, as a missing one.
    expect(code(await s1.client.raw(MINT, { input: { customerId: stranger.id } }))).toBe("NOT_FOUND");
    expect(code(await s1.client.raw(MINT, { input: { customerId: "999999" } }))).toBe("NOT_FOUND");
    expect(code(await s1.client.raw(MINT, { input: { serviceId: s2.id } }))).toBe("FORBIDDEN");
    expect(code(await customer.client.raw(MINT, { input: {} }))).toBe("FORBIDDEN");

    const scoped = await mint(s1.client, { customerId: customer.id });
    expect(scoped.token).toMatch(/^hg_cus_/);
    expect(scoped.apiToken.scopeServiceId).toBe(s1.id);
    expect((await t.as(scoped.token).raw(ME)).data).toMatchObject({ me: { kind: "CUSTOMER", customer: { id: customer.id }, scopeService: { id: s1.id } } });
    expect((await mint(t.admin, { serviceId: s2.id })).token).toMatch(/^hg_svc_/);
    expect((await mint(t.admin, { customerId: customer.id })).apiToken.scopeServiceId).toBeNull();
    expect((await mint(t.admin, { customerId: customer.id, serviceId: s2.id })).apiToken.scopeServiceId).toBe(s2.id);
  });

  it("a session mints no session and makes or lists no API token (it would outlive it); it may revoke itself", async () => {
    const s = await createService(t);
    const session = await mint(s.client, {});
    const as = t.as(session.token);
    expect(code(await as.raw(MINT, { input: {} }))).toBe("FORBIDDEN");
    expect(code(await as.raw(`mutation { createApiToken(input: { label: "forever" }) { token } }`))).toBe("FORBIDDEN");
    expect(code(await as.raw(`{ apiTokens { id } }`))).toBe("FORBIDDEN");
    const tokens = (await t.admin.raw(`query($s: ID) { apiTokens(serviceId: $s) { id label } }`, { s: s.id })).data as { apiTokens: { id: string; label: string }[] };
    const initial = tokens.apiTokens.find((row) => row.label === "initial")!;
    expect(code(await as.raw(REVOKE, { id: initial.id }))).toBe("FORBIDDEN");
    expect((await as.raw(REVOKE, { id: session.apiToken.id })).errors).toBeUndefined();
    expect((await as.raw(ME)).status).toBe(401);
  });
});

describe("the admin's own session", () => {
  it("is an admin token that expires: the admin's powers, no session or API token of its own, ended by expiry (streams too) or revocation", async () => {
    const session = await mint(t.admin, { expiresInSeconds: 120 });
    expect(session.token).toMatch(/^hg_admin_/);
    expect(session.apiToken.label).toBe("portal session");
    const as = t.as(session.token);
    const me = await as.raw(`{ me { kind expiresAt expiresInSeconds } }`);
    expect(me.data).toEqual({ me: { kind: "ADMIN", expiresAt: session.expiresAt, expiresInSeconds: 120 } });
    const s = await createService(t);
    expect((await as.raw(`query($s: ID) { webhooks(serviceId: $s) { totalCount } }`, { s: s.id })).errors).toBeUndefined();
    expect(code(await as.raw(MINT, { input: {} }))).toBe("FORBIDDEN");
    expect(code(await as.raw(MINT, { input: { serviceId: s.id } }))).toBe("FORBIDDEN");
    expect(code(await as.raw(`query($s: ID) { apiTokens(serviceId: $s) { id } }`, { s: s.id }))).toBe("FORBIDDEN");

    // A stream it opened ends when it expires.
    let closed: { code: number; reason: string } | undefined;
    const client = wsClient(t.gateway.url!, session.token, { onClosed: (c, reason) => (closed = { code: c, reason }) });
    // Subscribed once its replay of the stored events has begun: replay from the start gives it a first item.
    const type = await createEventType(t);
    await t.admin.raw(PUBLISH, { input: { eventName: type.name, payload: {} } });
    const live = collect(client, EVENT_PUBLISHED, { after: "0" });
    await waitForItems(live, 1);
    clock.advance(60_000);
    expect((await as.raw(`{ me { expiresInSeconds } }`)).data).toEqual({ me: { expiresInSeconds: 60 } });
    expect(closed).toBeUndefined();
    clock.advance(60_000);
    await eventually(() => closed, 10_000);
    expect(closed).toEqual({ code: 4403, reason: "session expired" });
    live.stop();
    await client.dispose();
    const refused = await as.raw(ME);
    expect(refused.status).toBe(401);
    expect(refused.errors?.[0]?.message).toMatch(/session expired/);

    // Revoked before its end: refused at once.
    const other = await mint(t.admin, {});
    expect((await t.as(other.token).raw(ME)).errors).toBeUndefined();
    expect((await t.admin.raw(REVOKE, { id: other.apiToken.id })).errors).toBeUndefined();
    expect((await t.as(other.token).raw(ME)).status).toBe(401);
  });

  it("is stored hashed, as a row of api_tokens with no owner (the previous release looks up admin tokens in admin_tokens only: it refuses it)", async () => {
    const session = await mint(t.admin, {});
    const rows = await t.store.database.sql.query<{ service_id: number | null; customer_id: number | null; token_hash: string }>(
      `SELECT service_id, customer_id, token_hash FROM api_tokens WHERE id = $1::int`,
      [Number(session.apiToken.id)],
    );
    expect(rows).toEqual([{ service_id: null, customer_id: null, token_hash: hashToken(session.token) }]);
  });
});

describe("a customer session a service minted", () => {
  it("sees that service's webhooks and the customer's events routed to them, nothing of the other service", async () => {
    const { s1, type1, type2, w1, w2, customer } = await twoServices();
    const e1 = await t.admin.raw(PUBLISH, { input: { eventName: type1.name, customerId: customer.id, payload: { n: 1 } } });
    const e2 = await t.admin.raw(PUBLISH, { input: { eventName: type2.name, customerId: customer.id, payload: { n: 2 } } });
    const id1 = (e1.data as { publishEvent: { event: { id: string } } }).publishEvent.event.id;
    const id2 = (e2.data as { publishEvent: { event: { id: string } } }).publishEvent.event.id;

    // The customer's own token sees both; the session only what concerns s1.
    const ids = (r: { data?: unknown }) => (r.data as { events: { edges: { node: { id: string } }[] } }).events.edges.map((e) => e.node.id).sort();
    expect(ids(await customer.client.raw(EVENTS))).toEqual([id1, id2].sort());
    const session = await mint(s1.client, { customerId: customer.id });
    const as = t.as(session.token);
    expect(ids(await as.raw(EVENTS))).toEqual([id1]);

    const hooks = (await as.raw(WEBHOOKS)).data as { webhooks: { data: { id: string }[] }; registeredWebhooks: { data: { id: string }[] } };
    expect(hooks.webhooks.data.map((w) => w.id)).toEqual([w1]);
    expect(hooks.registeredWebhooks.data.map((w) => w.id)).toEqual([w1]);
    // The other service's open webhook: as if it did not exist.
    expect(code(await as.raw(`mutation($id: ID!) { registerWebhook(input: { webhookId: $id }) { createdAt } }`, { id: w2 }))).toBe("NOT_FOUND");
    const unregister = `mutation($w: ID!, $c: ID!) { unregisterWebhook(input: { webhookId: $w, customerId: $c }) { webhookId } }`;
    expect(code(await as.raw(unregister, { w: w2, c: customer.id }))).toBe("NOT_FOUND");
    expect((await customer.client.raw(`{ registeredWebhooks { data { id } } }`)).data).toEqual({ registeredWebhooks: { data: [{ id: w1 }, { id: w2 }].sort((a, b) => Number(a.id) - Number(b.id)) } });

    // Live: the replay of stored events and new events alike, over graphql-ws.
    const client = wsClient(t.gateway.url!, session.token);
    const live = collect<LiveEvent>(client, EVENT_PUBLISHED, { after: "0" });
    await waitForItems(live, 1);
    await t.admin.raw(PUBLISH, { input: { eventName: type2.name, customerId: customer.id, payload: { n: 3 } } });
    const e4 = await t.admin.raw(PUBLISH, { input: { eventName: type1.name, customerId: customer.id, payload: { n: 4 } } });
    const id4 = (e4.data as { publishEvent: { event: { id: string } } }).publishEvent.event.id;
    await waitForItems(live, 2);
    // Event 3 was stored before event 4: had it been let through, it would have come first.
    expect(live.items.map((e) => e.id)).toEqual([id1, id4]);
    live.stop();
    await client.dispose();
  });
});

describe("expiry and revocation", () => {
  it("an expired session is UNAUTHENTICATED saying so, over HTTP and graphql-ws", async () => {
    const s = await createService(t);
    const session = await mint(s.client, { expiresInSeconds: 60 });
    expect((await t.as(session.token).raw(ME)).errors).toBeUndefined();
    clock.advance(60_000);
    const refused = await t.as(session.token).raw(ME);
    expect(refused.status).toBe(401);
    expect(code(refused)).toBe("UNAUTHENTICATED");
    expect(refused.errors?.[0]?.message).toMatch(/session expired/);

    let closed: { code: number; reason: string } | undefined;
    const client = wsClient(t.gateway.url!, session.token, { onClosed: (c, reason) => (closed = { code: c, reason }) });
    const live = collect(client, EVENT_PUBLISHED, {});
    await eventually(() => closed, 10_000);
    expect(closed).toEqual({ code: 4403, reason: "UNAUTHENTICATED: the session expired" });
    live.stop();
    await client.dispose();
  });

  it("open graphql-ws and SSE streams end when the session expires", async () => {
    const { s1, customer } = await twoServices();
    const session = await mint(s1.client, { customerId: customer.id, expiresInSeconds: 120 });
    let closed: { code: number; reason: string } | undefined;
    const client = wsClient(t.gateway.url!, session.token, { onClosed: (c, reason) => (closed = { code: c, reason }) });
    // Subscribed once its replay of the stored events has begun: replay from the start gives it a first item.
    await t.admin.raw(PUBLISH, { input: { eventName: (await firstType(s1.client)), customerId: customer.id, payload: {} } });
    const live = collect(client, EVENT_PUBLISHED, { after: "0" });
    await waitForItems(live, 1);
    const sse = await sseSubscribe(t.gateway.url!, session.token, EVENT_PUBLISHED, { after: "0" });
    expect(sse.status).toBe(200);
    await eventually(() => (sse.text().includes("eventPublished") ? true : undefined), 10_000);
    expect(closed).toBeUndefined();

    clock.advance(120_000);
    await eventually(() => closed, 10_000);
    expect(closed).toEqual({ code: 4403, reason: "session expired" });
    await eventually(() => (sse.text().includes("UNAUTHENTICATED") ? true : undefined), 10_000);
    expect(sse.text()).toContain("session of this subscription expired");
    await sse.done;
    await client.dispose();
  });

  it("the minting service revokes a customer session early; another service cannot", async () => {
    const { s1, s2, customer } = await twoServices();
    const session = await mint(s1.client, { customerId: customer.id });
    expect(code(await s2.client.raw(REVOKE, { id: session.apiToken.id }))).toBe("FORBIDDEN");
    expect((await t.as(session.token).raw(ME)).errors).toBeUndefined();
    expect((await s1.client.raw(REVOKE, { id: session.apiToken.id })).errors).toBeUndefined();
    const refused = await t.as(session.token).raw(ME);
    expect(refused.status).toBe(401);
    expect(code(refused)).toBe("UNAUTHENTICATED");
    // The customer's own token is untouched.
    expect((await customer.client.raw(ME)).errors).toBeUndefined();
  });
});

describe("embedding the console", () => {
  const frameAncestors = async (base: string) => {
    const response = await fetch(`${base.replace(/\/graphql$/, "")}/console/`);
    expect(response.status).toBe(200);
    return /frame-ancestors ([^;]*)/.exec(response.headers.get("content-security-policy") ?? "")?.[1];
  };

  it("the console may be framed by no one by default, by the origins HOOKGATE_CONSOLE_FRAME_ANCESTORS lists otherwise", async () => {
    expect(await frameAncestors(t.gateway.url!)).toBe("'none'");
    const embedded = await startTestGateway({ env: { HOOKGATE_ROLE: "api", HOOKGATE_CONSOLE_FRAME_ANCESTORS: "'self', https://app.example.com, https://*.shop.example" } });
    try {
      expect(await frameAncestors(embedded.gateway.url!)).toBe("'self' https://app.example.com https://*.shop.example");
    } finally {
      await embedded.close();
    }
  });
});

/** The name of the event type of a service's first webhook. */
async function firstType(service: TestGateway["admin"]): Promise<string> {
  const result = await service.raw(`{ webhooks { data { eventTypes { name } } } }`);
  return (result.data as { webhooks: { data: { eventTypes: { name: string }[] }[] } }).webhooks.data[0]!.eventTypes[0]!.name;
}
