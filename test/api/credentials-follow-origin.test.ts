// Credentials the admin set on a webhook must not follow a URL change the service makes to
// another origin: two receivers on loopback, two ports = two origins. The second receiver must
// get no Authorization and no extra header values, unless the same update gives them again.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PublishEventDocument } from "../generated/graphql.js";
import { createEventType, createService } from "../support/fixtures.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";
import { eventually, startReceiver, type Receiver } from "../support/receiver.js";

let t: TestGateway;
let adminsReceiver: Receiver;
let servicesReceiver: Receiver;

beforeAll(async () => {
  adminsReceiver = await startReceiver();
  servicesReceiver = await startReceiver();
  t = await startTestGateway();
});
afterAll(async () => {
  await t?.close();
  await adminsReceiver?.close();
  await servicesReceiver?.close();
});

const CREATE = `mutation($input: CreateWebhookInput!) { createWebhook(input: $input) { webhook { id } } }`;
const UPDATE = `mutation($id: ID!, $input: UpdateWebhookInput!) { updateWebhook(webhookId: $id, input: $input) { auth { type username } requestHeaders { name value } } }`;

/** A webhook the admin set up for a service, with Basic auth and a shared-secret header. */
async function adminsWebhook(path: string, auth: Record<string, unknown> = { basic: { username: "admin-user", password: "admin-password" } }) {
  const service = await createService(t);
  const type = await createEventType(t);
  const created = await t.admin.raw(CREATE, {
    input: { serviceId: service.id, eventIds: [type.id], url: adminsReceiver.url(path), auth, requestHeaders: [{ name: "X-Secret", value: "shared-secret" }] },
  });
  expect(created.errors).toBeUndefined();
  const id = (created.data as { createWebhook: { webhook: { id: string } } }).createWebhook.webhook.id;
  const deliver = async (receiver: Receiver, at: string) => {
    await t.admin.ok(PublishEventDocument, { input: { eventName: type.name, payload: { at } } });
    return eventually(() => receiver.requests.find((r) => r.path === at.split("?")[0] || r.path === at));
  };
  return { service, type, id, deliver };
}

describe("a URL change to another origin drops stored credentials and extra headers", () => {
  it("the service moves the webhook to its own server: no Authorization, no X-Secret arrive there", async () => {
    const hook = await adminsWebhook("/a");
    const before = await hook.deliver(adminsReceiver, "/a");
    expect(before.headers.authorization).toBe(`Basic ${Buffer.from("admin-user:admin-password").toString("base64")}`);
    expect(before.headers["x-secret"]).toBe("shared-secret");

    const moved = await hook.service.client.raw(UPDATE, { id: hook.id, input: { url: servicesReceiver.url("/stolen") } });
    expect(moved.errors).toBeUndefined();
    expect(moved.data).toEqual({ updateWebhook: { auth: { type: "NONE", username: null }, requestHeaders: [] } });

    const after = await hook.deliver(servicesReceiver, "/stolen");
    expect(after.headers.authorization).toBeUndefined();
    expect(after.headers["x-secret"]).toBeUndefined();
    expect(JSON.stringify(after.headers)).not.toContain("admin-password");
    expect(JSON.stringify(after.headers)).not.toContain("shared-secret");
  });

  it("a token (Green API style) is dropped too", async () => {
    const hook = await adminsWebhook("/token", { token: "Bearer admin-token-123" });
    await hook.service.client.raw(UPDATE, { id: hook.id, input: { url: servicesReceiver.url("/token-stolen") } });
    const after = await hook.deliver(servicesReceiver, "/token-stolen");
    expect(after.headers.authorization).toBeUndefined();
  });

  it("given again in the same update, they are kept for the new origin", async () => {
    const hook = await adminsWebhook("/b");
    const moved = await t.admin.raw(UPDATE, {
      id: hook.id,
      input: { url: servicesReceiver.url("/b-new"), auth: { basic: { username: "new-user", password: "new-password" } }, requestHeaders: [{ name: "X-Secret", value: "new-secret" }] },
    });
    expect(moved.errors).toBeUndefined();
    const after = await hook.deliver(servicesReceiver, "/b-new");
    expect(after.headers.authorization).toBe(`Basic ${Buffer.from("new-user:new-password").toString("base64")}`);
    expect(after.headers["x-secret"]).toBe("new-secret");
  });

  it("the same origin (another path or query) keeps them", async () => {
    const hook = await adminsWebhook("/c");
    const moved = await hook.service.client.raw(UPDATE, { id: hook.id, input: { url: adminsReceiver.url("/c-other?x=1") } });
    expect(moved.data).toEqual({ updateWebhook: { auth: { type: "BASIC", username: "admin-user" }, requestHeaders: [{ name: "X-Secret", value: "shared-secret" }] } });
    const after = await hook.deliver(adminsReceiver, "/c-other?x=1");
    expect(after.headers.authorization).toBe(`Basic ${Buffer.from("admin-user:admin-password").toString("base64")}`);
    expect(after.headers["x-secret"]).toBe("shared-secret");
  });
});
