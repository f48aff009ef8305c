// Green API's settings and notification queue, called exactly as its JS client
// (@green-api/whatsapp-api-client, src/utils/{Settings,WebhookService}API.js and
// scheduled/ReceiveNotificationsJob.js) calls them: axios to
// {host}/waInstance{idInstance}/{method}/{apiTokenInstance}, deleteNotification with the
// receiptId appended. The client itself does not install here (issue 17), so its requests are
// replayed with its headers. Responses are validated against /openapi.json.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PublishEventDocument, PullWebhookLogDocument } from "../generated/graphql.js";
import { createEventType, createService, createWebhook } from "../support/fixtures.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";
import { capturingLogger } from "../support/http.js";
import { eventually, startReceiver, type Receiver } from "../support/receiver.js";
import { baseOf, openApiSchemas, rest } from "../support/rest.js";

const log = capturingLogger("trace");
let t: TestGateway;
let base: string;
let receiver: Receiver;
let schemas: (name: string, value: unknown) => string[];
const TYPES = ["incomingMessageReceived", "outgoingMessageStatus", "stateInstanceChanged", "deviceInfo"];

beforeAll(async () => {
  t = await startTestGateway({ env: { HOOKGATE_LOG_LEVEL: "trace" }, logger: log.logger });
  base = baseOf(t.gateway.url!);
  receiver = await startReceiver(() => ({ status: 200 }));
  schemas = openApiSchemas((await rest(base, "GET", "/openapi.json")).json as object);
  for (const name of TYPES) await createEventType(t, name, { typeWebhook: name });
});
afterAll(async () => {
  await t?.close();
  await receiver?.close();
});

/** What the JS client sends: axios's default headers, JSON bodies; the answer's data. */
function greenClient(idInstance: string, apiTokenInstance: string) {
  const methodUrl = (method: string) => `${base}/waInstance${idInstance}/${method}/${apiTokenInstance}`;
  const call = async (method: "GET" | "POST" | "DELETE", url: string, data?: unknown) => {
    const response = await fetch(url, {
      method,
      headers: {
        accept: "application/json, text/plain, */*",
        "user-agent": "axios/1.7.9",
        ...(data !== undefined ? { "content-type": "application/json" } : {}),
      },
      ...(data !== undefined ? { body: JSON.stringify(data) } : {}),
    });
    const text = await response.text();
    return { status: response.status, data: text ? (JSON.parse(text) as unknown) : "" };
  };
  return {
    getSettings: () => call("GET", methodUrl("getSettings")),
    setSettings: (settings: Record<string, unknown>) => call("POST", methodUrl("setSettings"), settings),
    receiveNotification: () => call("GET", methodUrl("receiveNotification")),
    deleteNotification: (receiptId: number) => call("DELETE", `${methodUrl("deleteNotification")}/${receiptId}`),
  };
}

const incoming = (text: string) => ({
  typeWebhook: "incomingMessageReceived",
  instanceData: { idInstance: 1101000001, wid: "79001234567@c.us", typeInstance: "whatsapp" },
  timestamp: 1654553712,
  idMessage: `msg-${text}`,
  senderData: { chatId: "79001234568@c.us", sender: "79001234568@c.us", senderName: "Jane" },
  messageData: { typeMessage: "textMessage", textMessageData: { textMessage: text } },
});

describe("Green API", () => {
  it("setSettings/getSettings map the switches onto the webhook's event types; the queue hands out notifications in order until deleted", async () => {
    const service = await createService(t);
    const { webhook } = await createWebhook(service.client, { eventNames: ["deviceInfo"], eventIds: [], url: null, deliveryMode: "PULL" });
    const green = greenClient(webhook.id, service.token);

    const saved = await green.setSettings({
      webhookUrl: "",
      incomingWebhook: "yes",
      outgoingWebhook: "yes",
      stateWebhook: "no",
      deviceWebhook: "no",
      delaySendMessagesMilliseconds: 500,
    });
    expect(saved).toEqual({ status: 200, data: { saveSettings: true } });
    const settings = await green.getSettings();
    expect(settings.status).toBe(200);
    expect(schemas("GreenApiSettings", settings.data)).toEqual([]);
    expect(settings.data).toMatchObject({ webhookUrl: "", incomingWebhook: "yes", outgoingWebhook: "yes", stateWebhook: "no", deviceWebhook: "no" });
    const viaGraphql = (await service.client.raw(`{ webhook(id: ${webhook.id}) { deliveryMode eventTypes { name } } }`)) as {
      data: { webhook: { deliveryMode: string; eventTypes: { name: string }[] } };
    };
    expect(viaGraphql.data.webhook.deliveryMode).toBe("PULL");
    expect(viaGraphql.data.webhook.eventTypes.map((e) => e.name).sort()).toEqual(["incomingMessageReceived", "outgoingMessageStatus"]);

    for (const text of ["one", "two", "three"]) await t.admin.ok(PublishEventDocument, { input: { eventName: "incomingMessageReceived", payload: incoming(text) } });
    // Switched off: not routed to the instance.
    await t.admin.ok(PublishEventDocument, { input: { eventName: "deviceInfo", payload: { typeWebhook: "deviceInfo" } } });

    // ReceiveNotificationsJob's loop: receive, handle, delete, until receiveNotification answers null.
    const first = await green.receiveNotification();
    expect(first.status).toBe(200);
    expect(schemas("GreenApiNotification", first.data)).toEqual([]);
    const { receiptId, body } = first.data as { receiptId: number; body: ReturnType<typeof incoming> };
    expect(body).toEqual(incoming("one"));
    // Not deleted yet: the next one is not handed out (the client waits its 5 s for nothing).
    const meanwhile = await rest(base, "GET", `/waInstance${webhook.id}/receiveNotification/${service.token}?receiveTimeout=0`);
    expect(meanwhile).toMatchObject({ status: 200, json: null });
    expect(await green.deleteNotification(receiptId)).toEqual({ status: 200, data: { result: true } });
    expect(await green.deleteNotification(receiptId)).toEqual({ status: 200, data: { result: false } });

    const texts: string[] = [];
    let response;
    while ((response = (await green.receiveNotification()).data)) {
      const notification = response as { receiptId: number; body: ReturnType<typeof incoming> };
      texts.push(notification.body.messageData.textMessageData.textMessage);
      expect(await green.deleteNotification(notification.receiptId)).toEqual({ status: 200, data: { result: true } });
    }
    expect(texts).toEqual(["two", "three"]);
    expect(response).toBe(null);

    const { webhookLogs } = await service.client.ok(PullWebhookLogDocument, { webhookId: webhook.id });
    expect(webhookLogs.edges.map((e) => e.node.status)).toEqual(["SUCCEEDED", "SUCCEEDED", "SUCCEEDED"]);
  });

  it("webhookUrl and webhookUrlToken make a PUSH instance call the URL with Green API's Authorization rule", async () => {
    const service = await createService(t);
    const { webhook } = await createWebhook(service.client, { eventNames: ["stateInstanceChanged"], eventIds: [], url: "https://receiver.example/x" });
    const green = greenClient(webhook.id, service.token);
    const saved = await green.setSettings({ webhookUrl: receiver.url("/green"), webhookUrlToken: "dscnsdiuafkascndjhsalbcvatsvcbasn23rfregvfdg54tds", stateWebhook: "yes" });
    expect(saved).toEqual({ status: 200, data: { saveSettings: true } });
    expect((await green.getSettings()).data).toMatchObject({ webhookUrl: receiver.url("/green"), webhookUrlToken: "", stateWebhook: "yes", incomingWebhook: "no" });
    const state = { typeWebhook: "stateInstanceChanged", instanceData: { idInstance: 1 }, timestamp: 1654553712, stateInstance: "authorized" };
    await t.admin.ok(PublishEventDocument, { input: { eventName: "stateInstanceChanged", payload: state } });
    const call = await eventually(() => receiver.requests.find((r) => r.path === "/green"));
    expect(call.headers.authorization).toBe("Bearer dscnsdiuafkascndjhsalbcvatsvcbasn23rfregvfdg54tds");
    expect(JSON.parse(call.body)).toMatchObject({ type: "stateInstanceChanged", data: state });
    // A PUSH instance has no queue.
    const pulled = await rest(base, "GET", `/waInstance${webhook.id}/receiveNotification/${service.token}`);
    expect(pulled.status).toBe(400);
    expect(pulled.json).toMatchObject({ error: { code: "BAD_USER_INPUT", issues: [{ loc: ["path", "idInstance"] }] } });
    // "" is no URL: a PUSH webhook keeps one, so it is refused, naming the field.
    const cleared = await green.setSettings({ webhookUrl: "" });
    expect(cleared.status).toBe(400);
    expect(cleared.data).toMatchObject({ error: { code: "BAD_USER_INPUT", issues: [{ loc: ["body", "webhookUrl"] }] } });
  });

  it("the token in the path authenticates as that token, and never appears in a log line", async () => {
    const owner = await createService(t);
    const other = await createService(t);
    const { webhook } = await createWebhook(owner.client, { eventNames: ["deviceInfo"], eventIds: [], url: null, deliveryMode: "PULL" });
    const before = log.lines.length;
    expect((await greenClient(webhook.id, "hg_svc_not_a_token").getSettings()).status).toBe(401);
    const foreign = await greenClient(webhook.id, other.token).receiveNotification();
    expect(foreign.status).not.toBe(200);
    expect(foreign.data).toMatchObject({ error: { code: expect.stringMatching(/FORBIDDEN|NOT_FOUND/) } });
    expect((await greenClient(webhook.id, other.token).deleteNotification(1)).status).toBe(403);
    const own = greenClient(webhook.id, owner.token);
    expect((await own.getSettings()).status).toBe(200);
    expect((await own.deleteNotification(12345)).data).toEqual({ result: false });
    const lines = await eventually(() => {
      const mine = log.lines.slice(before).filter((l) => l.includes(`/waInstance${webhook.id}/`));
      return mine.length >= 5 && mine;
    });
    expect(lines.some((l) => l.includes(`/waInstance${webhook.id}/getSettings/***`))).toBe(true);
    expect(lines.some((l) => l.includes(`/waInstance${webhook.id}/deleteNotification/***/12345`))).toBe(true);
    for (const token of [owner.token, other.token, "hg_svc_not_a_token"]) expect(log.text()).not.toContain(token);
  });
});
