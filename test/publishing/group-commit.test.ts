// The group commit's paths one by one (src/publishing/group-commit.ts) on the real store. Calls
// handed to PublishGroups in one turn of the event loop go in one statement, so each path is taken
// for certain here; test/api/group-commit.test.ts shows the outcomes through the API under load.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PublishGroups, type GroupObserver, type GroupResult } from "../../src/publishing/group-commit.js";
import type { PublishInput } from "../../src/publishing/publish-sql.js";
import { createEventType, createService, createWebhook } from "../support/fixtures.js";
import { startTestGateway, type TestGateway } from "../support/gateway.js";
import { refuseExplodingEvents } from "../support/store-rows.js";

let t: TestGateway;
let typeName: string;

beforeAll(async () => {
  t = await startTestGateway({ HOOKGATE_ROLE: "api" });
  const service = await createService(t);
  const type = await createEventType(t, "GROUP_PATHS");
  typeName = type.name;
  await createWebhook(service.client, { eventIds: [type.id] });
  await refuseExplodingEvents(t.store.database.sql);
});
afterAll(async () => t?.close());

/** One request as the publisher hands it over (v: the schema version checked against; 0 is "none set"). */
const request = (payload: unknown, more: Partial<PublishInput> = {}): PublishInput[] => [
  { i: 0, n: typeName, t: null, c: null, x: null, p: JSON.stringify(payload), k: null, v: 0, o: null, ...more },
];

/** Groups on the test store, noting each statement (calls, events) and each retry (reason, calls). */
function groups() {
  const statements: [number, number][] = [];
  const retried: [string, number][] = [];
  const observer: GroupObserver = {
    statement: (calls, events) => statements.push([calls, events]),
    retried: (reason, calls) => retried.push([reason, calls]),
  };
  return { groups: new PublishGroups(t.store.database.sql, { now: () => new Date() }, observer), statements, retried };
}

describe("group commit, path by path", () => {
  it("a call whose type does not resolve gets its rows back; the others go again together and are stored", async () => {
    const g = groups();
    const [a, bad, b] = await Promise.all([
      g.groups.run(request({ a: 1 })),
      g.groups.run(request({}, { n: "NO_SUCH_TYPE" })),
      g.groups.run(request({ b: 1 })),
    ]);
    expect(bad.rows).toMatchObject([{ i: 0, type_id: null, stored: false }]);
    expect(a.rows).toMatchObject([{ i: 0, stored: true }]);
    expect(b.rows).toMatchObject([{ i: 0, stored: true }]);
    expect(a.rows[0]!.tx_id).toBe(b.rows[0]!.tx_id);
    expect(g.statements).toEqual([
      [3, 3],
      [2, 2],
    ]);
    expect(g.retried).toEqual([["blocked", 2]]);
  });

  it("the others of a blocked group go again on their own, ahead of a bad call that arrived meanwhile", async () => {
    const g = groups();
    const good = g.groups.run(request({ good: 1 }));
    const bad = g.groups.run(request({}, { n: "NO_SUCH_TYPE" }));
    // The first statement starts on the next turn of the event loop; this call arrives while it runs.
    await new Promise((resolve) => setImmediate(resolve));
    const later = g.groups.run(request({}, { n: "NO_SUCH_TYPE_EITHER" }));
    const [goodResult, badResult, laterResult] = await Promise.all([good, bad, later]);
    expect(goodResult.rows).toMatchObject([{ stored: true }]);
    expect(badResult.rows).toMatchObject([{ type_id: null }]);
    expect(laterResult.rows).toMatchObject([{ type_id: null }]);
    expect(g.statements).toEqual([
      [2, 2],
      [1, 1],
      [1, 1],
    ]);
    expect(g.retried).toEqual([["blocked", 1]]);
  });

  it("a statement the store refuses is split until the refused call is alone: only it fails", async () => {
    const g = groups();
    const calls = [g.groups.run(request({ one: 1 })), g.groups.run(request({ explode: true })), g.groups.run(request({ two: 2 })), g.groups.run(request({ three: 3 }))];
    const settled = await Promise.allSettled(calls);
    const [one, refused, two, three] = settled;
    expect(refused).toMatchObject({ status: "rejected", reason: { message: expect.stringMatching(/refused by a test trigger/) } });
    for (const ok of [one, two, three]) expect(ok).toMatchObject({ status: "fulfilled", value: { rows: [{ stored: true }] } });
    const tx = (s: PromiseSettledResult<GroupResult> | undefined) => (s as PromiseFulfilledResult<GroupResult>).value.rows[0]!.tx_id;
    // [one, explode] and [two, three] were the halves; [one] and [explode] the halves of the first.
    expect(tx(two)).toBe(tx(three));
    expect(tx(one)).not.toBe(tx(two));
    expect(g.statements).toEqual([
      [4, 4],
      [2, 2],
      [1, 1],
      [1, 1],
      [2, 2],
    ]);
    expect(g.retried).toEqual([
      ["refused", 4],
      ["refused", 2],
    ]);
  });

  it("calls sharing an idempotency key never share a statement: the later one finds the first one's event", async () => {
    const g = groups();
    const [first, second, other] = await Promise.all([
      g.groups.run(request({ first: true }, { k: "same-key" })),
      g.groups.run(request({ second: true }, { k: "same-key" })),
      g.groups.run(request({ other: true })),
    ]);
    expect(first.rows).toMatchObject([{ stored: true, k: "same-key" }]);
    expect(other.rows).toMatchObject([{ stored: true }]);
    expect(first.rows[0]!.tx_id).toBe(other.rows[0]!.tx_id);
    expect(second.rows).toMatchObject([{ stored: false, existing_id: first.rows[0]!.id }]);
    expect(g.statements).toEqual([
      [2, 2],
      [1, 1],
    ]);
  });
});
