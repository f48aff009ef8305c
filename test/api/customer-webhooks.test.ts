// What a customer token may do with webhooks: register only on webhooks their service opened to
// customers (a closed one answers exactly as a missing one: no enumeration oracle), and read
// only what a consumer needs (never the URL, headers, auth or delivery settings).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCustomer, createEventType, createService } from "../support/fixtures.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";

let t: TestGateway;
let service: Awaited<ReturnType<typeof createService>>;
let customer: Awaited<ReturnType<typeof createCustomer>>;
let type: { id: string; name: string };

const CREATE = `mutation($input: CreateWebhookInput!) { createWebhook(input: $input) { webhook { id openToCustomers } } }`;
const REGISTER = `mutation($id: ID!) { registerWebhook(input: { webhookId: $id }) { createdAt webhook { id } } }`;

beforeAll(async () => {
  t = await startTestGateway({ HOOKGATE_ROLE: "api" });
  service = await createService(t);
  customer = await createCustomer(t);
  type = await createEventType(t);
});
afterAll(async () => t?.close());

async function newWebhook(input: Record<string, unknown> = {}): Promise<string> {
  const result = await service.client.raw(CREATE, { input: { eventIds: [type.id], url: "https://receiver.example/hook?token=s3cret", ...input } });
  expect(result.errors).toBeUndefined();
  return (result.data as { createWebhook: { webhook: { id: string } } }).createWebhook.webhook.id;
}

const registrations = async () => {
  const [row] = await t.store.database.sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM registrations`);
  return row!.n;
};

describe("registering", () => {
  it("a new webhook is closed unless opened; registering on it fails exactly as on a missing id", async () => {
    const closed = await newWebhook();
    const created = await service.client.raw(`{ webhooks { data { id openToCustomers } } }`);
    expect((created.data as { webhooks: { data: { id: string; openToCustomers: boolean }[] } }).webhooks.data.find((w) => w.id === closed)?.openToCustomers).toBe(false);

    const before = await registrations();
    const onClosed = await customer.client.raw(REGISTER, { id: closed });
    const missingId = String(Number(closed) + 1000);
    const onMissing = await customer.client.raw(REGISTER, { id: missingId });
    expect(onClosed.errors?.[0]?.extensions?.code).toBe("NOT_FOUND");
    // The same answer apart from the id itself.
    const shape = (r: typeof onClosed, id: string) => r.errors!.map((e) => ({ message: e.message.replace(id, "N"), path: e.path, extensions: e.extensions }));
    expect(shape(onClosed, closed)).toEqual(shape(onMissing, missingId));
    expect(onClosed.status).toBe(onMissing.status);
    expect(JSON.stringify(onClosed)).not.toContain("receiver.example");
    expect(await registrations()).toBe(before);
  });

  it("an open webhook accepts the customer; closing it keeps the registration but refuses new ones", async () => {
    const open = await newWebhook({ openToCustomers: true });
    const ok = await customer.client.raw(REGISTER, { id: open });
    expect(ok.errors).toBeUndefined();

    const other = await createCustomer(t);
    await service.client.raw(`mutation($id: ID!) { updateWebhook(webhookId: $id, input: { openToCustomers: false }) { id } }`, { id: open });
    expect((await other.client.raw(REGISTER, { id: open })).errors?.[0]?.extensions?.code).toBe("NOT_FOUND");
    const customers = await service.client.raw(`query($id: ID!) { webhookCustomers(webhookId: $id) { data { id } } }`, { id: open });
    expect(customers.data).toEqual({ webhookCustomers: { data: [{ id: customer.id }] } });
  });

  it("a webhook written by the previous release (no openToCustomers column value) stays open", async () => {
    // As the previous release inserts it: it does not know the column, so the default applies.
    const sealed = await t.store.database.sql.query<{ request_headers_sealed: string; signing_secret_sealed: string }>(
      `SELECT request_headers_sealed, signing_secret_sealed FROM webhooks ORDER BY id LIMIT 1`,
    );
    const [row] = await t.store.database.sql.query<{ id: number }>(
      `INSERT INTO webhooks (service_id, url, request_headers_sealed, signing_secret_sealed, updated_at) VALUES ($1, 'https://old.example/hook', $2, $3, now()) RETURNING id`,
      [Number(service.id), sealed[0]!.request_headers_sealed, sealed[0]!.signing_secret_sealed],
    );
    const result = await customer.client.raw(REGISTER, { id: String(row!.id) });
    expect(result.errors).toBeUndefined();
  });
});

describe("reading", () => {
  it("a customer reads what a consumer needs and nothing of the URL, headers, auth or settings", async () => {
    const open = await newWebhook({ openToCustomers: true, requestHeaders: [{ name: "X-Secret", value: "hdr-secret" }] });
    await customer.client.raw(REGISTER, { id: open });
    const allowed = await customer.client.raw(`{ registeredWebhooks { data { id openToCustomers isActive createdAt service { id } eventTypes { name } } } }`);
    expect(allowed.errors).toBeUndefined();
    expect(JSON.stringify(allowed.data)).toContain(type.name);

    for (const field of ["url", "requestMethod", "requestHeaders { value }", "auth { type }", "retryPolicy", "retryIntervalSeconds", "retryWindowSeconds", "disabledReason", "disabledAt", "updatedAt"]) {
      for (const query of [`{ registeredWebhooks { data { id ${field} } } }`, `{ webhooks { data { id ${field} } } }`]) {
        const result = await customer.client.raw(query);
        expect(result.errors?.[0]?.extensions?.code, `${field}: ${JSON.stringify(result)}`).toBe("FORBIDDEN");
        expect(JSON.stringify(result)).not.toContain("s3cret");
        expect(JSON.stringify(result)).not.toContain("hdr-secret");
      }
      const viaRegister = await customer.client.raw(`mutation($id: ID!) { registerWebhook(input: { webhookId: $id }) { webhook { ${field} } } }`, { id: open });
      expect(viaRegister.errors?.[0]?.extensions?.code, field).toBe("FORBIDDEN");
    }
    // The owner still reads them.
    const owner = await service.client.raw(`{ webhooks { data { url requestHeaders { value } } } }`);
    expect(JSON.stringify(owner.data)).toContain("s3cret");
  });
});
