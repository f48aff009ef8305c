import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PublishEventsDocument } from "../generated/graphql.js";
import { createCustomer, createEventType, createService, createWebhook, register } from "../support/fixtures.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";

/**
 * The Relay cursor connections spec through GraphQL over HTTP, on every connection of the API
 * (events, webhookLogs) over real rows: `after` and `before` narrow the list to the items between
 * them, then `first` takes from the start of that range or `last` from its end; pageInfo follows
 * the spec's algorithm. `first` with `last` is refused rather than answered with a wrong slice.
 */

const EVENTS = 6;

let t: TestGateway;
/** The ids each connection lists, newest first, as a full first page reports them. */
const all: Record<string, string[]> = {};

interface Page {
  ids: string[];
  cursors: string[];
  hasNextPage: boolean;
  hasPreviousPage: boolean;
  startCursor: string | null;
  endCursor: string | null;
}

type Args = { first?: number; last?: number; after?: string; before?: string };

const ARGS = "$first: Int, $last: Int, $after: String, $before: String";
const PAGE = "first: $first, last: $last, after: $after, before: $before";
const SHAPE = "pageInfo { hasNextPage hasPreviousPage startCursor endCursor }";

let eventName: string;
let webhookId: string;

/** Each connection, queried with a nested selection under its nodes. */
const connections: Record<string, { query: string; variables: () => Record<string, unknown> }> = {
  events: {
    query: `query(${ARGS}, $names: [String!]) { list: events(eventNames: $names, ${PAGE}) { edges { cursor node { id eventName eventType { name } } } ${SHAPE} } }`,
    variables: () => ({ names: [eventName] }),
  },
  webhookLogs: {
    query: `query(${ARGS}, $webhookId: ID!) { list: webhookLogs(webhookId: $webhookId, ${PAGE}) { edges { cursor node { id status attempts { id } event { id } } } ${SHAPE} } }`,
    variables: () => ({ webhookId }),
  },
};
const names = Object.keys(connections);

async function request(name: string, args: Args) {
  const c = connections[name]!;
  return t.admin.raw(c.query, { ...c.variables(), ...args });
}

async function page(name: string, args: Args): Promise<Page> {
  const result = await request(name, args);
  expect(result.errors, JSON.stringify(result.errors)).toBeUndefined();
  const list = (result.data as { list: { edges: { cursor: string; node: { id: string } }[]; pageInfo: Omit<Page, "ids" | "cursors"> } }).list;
  return { ids: list.edges.map((e) => e.node.id), cursors: list.edges.map((e) => e.cursor), ...list.pageInfo };
}

/** The cursor of the item at `index` of the whole list (newest first). */
async function cursorAt(name: string, index: number): Promise<string> {
  const full = await page(name, { first: EVENTS });
  return full.cursors[index]!;
}

beforeAll(async () => {
  // API only: no dispatcher, so every delivery stays as publishing queued it.
  t = await startTestGateway({ HOOKGATE_ROLE: "api" });
  const service = await createService(t);
  const type = await createEventType(t);
  eventName = type.name;
  const customer = await createCustomer(t);
  webhookId = (await createWebhook(service.client, { eventIds: [type.id] })).webhook.id;
  await register(customer.client, webhookId);
  // One at a time, so ids rise in publishing order.
  for (let i = 0; i < EVENTS; i++) {
    await t.admin.ok(PublishEventsDocument, { input: { events: [{ eventName, customerId: customer.id, payload: { i } }] } });
  }
  for (const name of names) {
    const full = await page(name, { first: 100 });
    expect(full.ids).toHaveLength(EVENTS);
    expect(full.hasNextPage).toBe(false);
    all[name] = full.ids;
  }
});
afterAll(async () => t?.close());

describe.each(names)("%s", (name) => {
  it("lists newest first (the order the rest of these tests rely on)", () => {
    const ids = all[name]!.map(BigInt);
    expect(ids).toEqual([...ids].sort((a, b) => (a > b ? -1 : a < b ? 1 : 0)));
  });

  it("first: 0 is an empty page whose pageInfo says whether the range holds items", async () => {
    expect(await page(name, { first: 0 })).toEqual({
      ids: [],
      cursors: [],
      hasNextPage: true,
      hasPreviousPage: false,
      startCursor: null,
      endCursor: null,
    });
    // Past the last item nothing follows.
    const last = await cursorAt(name, EVENTS - 1);
    expect(await page(name, { first: 0, after: last })).toMatchObject({ ids: [], hasNextPage: false, hasPreviousPage: true });
    // last: 0 likewise, from the other end.
    expect(await page(name, { last: 0 })).toMatchObject({ ids: [], hasNextPage: false, hasPreviousPage: true });
  });

  it("after and before together: the items between the two cursors", async () => {
    const ids = all[name]!;
    const after = await cursorAt(name, 0);
    const before = await cursorAt(name, EVENTS - 1);
    expect(await page(name, { after, before })).toMatchObject({
      ids: ids.slice(1, EVENTS - 1),
      hasNextPage: false,
      hasPreviousPage: true,
    });
    expect(await page(name, { after, before, first: 2 })).toMatchObject({ ids: ids.slice(1, 3), hasNextPage: true, hasPreviousPage: true });
    expect(await page(name, { after, before, last: 2 })).toMatchObject({
      ids: ids.slice(EVENTS - 3, EVENTS - 1),
      hasNextPage: true,
      hasPreviousPage: true,
    });
    // Neighbouring cursors: nothing between them.
    const second = await cursorAt(name, 1);
    expect(await page(name, { after, before: second })).toMatchObject({ ids: [], startCursor: null, endCursor: null, hasNextPage: false });
  });

  it("first with before, last with after: the spec's slices", async () => {
    const ids = all[name]!;
    const before = await cursorAt(name, 4);
    expect(await page(name, { first: 2, before })).toMatchObject({ ids: ids.slice(0, 2), hasNextPage: true, hasPreviousPage: false });
    const after = await cursorAt(name, 1);
    expect(await page(name, { last: 2, after })).toMatchObject({ ids: ids.slice(EVENTS - 2), hasNextPage: false, hasPreviousPage: true });
  });

  it("pages forward with first/after and back with last/before, pageInfo right at every step", async () => {
    const ids = all[name]!;
    const forward: Page[] = [];
    let after: string | undefined;
    for (;;) {
      const p = await page(name, { first: 4, ...(after ? { after } : {}) });
      forward.push(p);
      if (!p.hasNextPage) break;
      after = p.endCursor!;
    }
    expect(forward.map((p) => p.ids)).toEqual([ids.slice(0, 4), ids.slice(4)]);
    expect(forward.map((p) => [p.hasPreviousPage, p.hasNextPage])).toEqual([
      [false, true],
      [true, false],
    ]);
    const backward: Page[] = [];
    let before: string | undefined;
    for (;;) {
      const p = await page(name, { last: 4, ...(before ? { before } : {}) });
      backward.push(p);
      if (!p.hasPreviousPage) break;
      before = p.startCursor!;
    }
    expect(backward.map((p) => p.ids)).toEqual([ids.slice(2), ids.slice(0, 2)]);
    expect(backward.map((p) => [p.hasPreviousPage, p.hasNextPage])).toEqual([
      [true, false],
      [false, true],
    ]);
  });

  it("first with last -> BAD_USER_INPUT naming both, no slice", async () => {
    const result = await request(name, { first: 2, last: 2 });
    expect(result.data ?? null).toBeNull();
    expect(result.errors).toHaveLength(1);
    const error = result.errors![0]!;
    expect(error.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "last", arguments: ["first", "last"] });
    expect(error.message).toBe("first, last: give one of them, not both");
  });
});
