// API tokens across two gateways sharing one PostgreSQL: several labelled tokens per principal,
// created once, listed without the token, revoked at once on every gateway, open websocket and
// SSE streams of a revoked token ended soon after, last use written at most once a minute, and
// tokens from the old single-token column still accepted.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashToken } from "../../src/auth/tokens.js";
import { loadConfig } from "../../src/config.js";
import { ManualClock } from "../../src/clock.js";
import { createLogger } from "../../src/log.js";
import { startGateway, type Gateway } from "../../src/server/gateway.js";
import { GraphQLClient } from "../support/client.js";
import { createCustomer, createService } from "../support/fixtures.js";
import { tableResolver } from "../support/gateway.js";
import { collect, EVENT_PUBLISHED, sseSubscribe, wsClient } from "../support/live.js";
import { eventually } from "../support/receiver.js";
import { createPostgresDatabase } from "../support/store.js";

const POLL_MS = 200;
const adminToken = `hg_admin_${randomBytes(24).toString("base64url")}`;
const clock = new ManualClock(new Date("2026-11-29T10:00:00Z"));
let drop: () => Promise<void>;
let a: Gateway;
let b: Gateway;
const on = (g: Gateway) => ({ admin: new GraphQLClient(g.url!, adminToken), as: (token?: string) => new GraphQLClient(g.url!, token) });

beforeAll(async () => {
  const db = await createPostgresDatabase();
  drop = db.drop;
  const env = {
    DATABASE_URL: db.url,
    HOOKGATE_PORT: "0",
    HOOKGATE_ADMIN_TOKEN: adminToken,
    HOOKGATE_ENCRYPTION_KEY: randomBytes(32).toString("base64"),
    HOOKGATE_ROLE: "api",
    HOOKGATE_MIGRATE: "auto", // a fresh database: the first gateway migrates it
    HOOKGATE_LIVE_POLL_MS: String(POLL_MS),
    HOOKGATE_LOG_LEVEL: "silent",
  };
  a = await startGateway({ config: loadConfig(env), logger: createLogger("silent"), resolver: tableResolver(), clock });
  b = await startGateway({ config: loadConfig(env), logger: createLogger("silent"), resolver: tableResolver() });
}, 60_000);
afterAll(async () => {
  await a?.close();
  await b?.close();
  await drop?.();
});

const CREATE = `mutation($input: CreateApiTokenInput!) { createApiToken(input: $input) { token apiToken { id label revokedAt } } }`;
const LIST = `query($s: ID, $c: ID) { apiTokens(serviceId: $s, customerId: $c) { id label createdAt lastUsedAt revokedAt } }`;
const REVOKE = `mutation($id: ID!) { revokeApiToken(tokenId: $id) { id revokedAt } }`;
type Created = { createApiToken: { token: string; apiToken: { id: string } } };

describe("API tokens", () => {
  it("a service creates a second token, lists both (never the token), revokes one: refused at once on the other gateway", async () => {
    const service = await createService(on(a));
    const second = await service.client.raw(CREATE, { input: { label: "ci deploy" } });
    expect(second.errors).toBeUndefined();
    const { token, apiToken } = (second.data as Created).createApiToken;
    expect(token).toMatch(/^hg_svc_/);

    const listed = await on(b).as(token).raw(LIST, {});
    expect(listed.errors).toBeUndefined();
    const rows = (listed.data as { apiTokens: { id: string; label: string }[] }).apiTokens;
    expect(rows.map((r) => r.label)).toEqual(["initial", "ci deploy"]);
    expect(JSON.stringify(listed)).not.toContain(token);

    expect((await on(a).as(token).raw(REVOKE, { id: apiToken.id })).errors).toBeUndefined();
    const refused = await on(b).as(token).raw(`{ me { kind } }`);
    expect(refused.status).toBe(401);
    expect(refused.errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
    // The first token still works.
    expect((await on(b).as(service.token).raw(`{ me { kind } }`)).data).toEqual({ me: { kind: "SERVICE" } });
  });

  it("who may: a service its own, a customer its own, the admin any; others FORBIDDEN", async () => {
    const s1 = await createService(on(a));
    const s2 = await createService(on(a));
    const c1 = await createCustomer(on(a));
    const forbidden = await s2.client.raw(CREATE, { input: { label: "x", serviceId: s1.id } });
    expect(forbidden.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    expect((await c1.client.raw(CREATE, { input: { label: "x", serviceId: s1.id } })).errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    const s1Tokens = (await on(a).admin.raw(LIST, { s: s1.id })).data as { apiTokens: { id: string }[] };
    expect((await s2.client.raw(REVOKE, { id: s1Tokens.apiTokens[0]!.id })).errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    const own = await c1.client.raw(CREATE, { input: { label: "phone" } });
    expect((own.data as Created).createApiToken.token).toMatch(/^hg_cus_/);
    const byAdmin = await on(a).admin.raw(CREATE, { input: { label: "support", customerId: c1.id } });
    expect(byAdmin.errors).toBeUndefined();
  });

  it("open websocket and SSE streams of a revoked token end within a few poll intervals, on the other gateway", async () => {
    const customer = await createCustomer(on(a));
    const created = (await customer.client.raw(CREATE, { input: { label: "stream" } })).data as Created;
    const { token, apiToken } = created.createApiToken;

    let closed: { code: number; reason: string } | undefined;
    const client = wsClient(b.url!, token, { onClosed: (code, reason) => (closed = { code, reason }) });
    const ws = collect(client, EVENT_PUBLISHED, {});
    const sse = await sseSubscribe(b.url!, token, EVENT_PUBLISHED);
    expect(sse.status).toBe(200);
    // Both are open and subscribed before the revocation (gateway b counts them).
    const openOnB = async () => {
      const text = await (await fetch(new URL("/metrics", b.url!), { headers: { authorization: `Bearer ${adminToken}` } })).text();
      return /^hookgate_live_subscriptions 2$/m.test(text) ? true : undefined;
    };
    await eventually(openOnB, 10_000);
    expect(closed).toBeUndefined();

    const revokedAt = Date.now();
    expect((await on(a).admin.raw(REVOKE, { id: apiToken.id })).errors).toBeUndefined();
    await eventually(() => closed ?? undefined, 10_000);
    await eventually(() => (sse.text().includes("UNAUTHENTICATED") ? true : undefined), 10_000);
    const tookMs = Date.now() - revokedAt;
    expect(closed!.code).toBe(4403);
    expect(sse.text()).toContain("revoked");
    expect(tookMs).toBeLessThan(5 * POLL_MS + 2_000);
    sse.abort();
    await sse.done;
    ws.stop();
    await client.dispose();
  });

  it("last use is written at most once a minute per token (gateway clock)", async () => {
    const service = await createService(on(a));
    const lastUsed = async () => {
      const [row] = await a.database.sql.query<{ t: string | null }>(`SELECT (extract(epoch FROM last_used_at) * 1000)::bigint::text AS t FROM api_tokens WHERE token_hash = $1`, [hashToken(service.token)]);
      return row!.t;
    };
    await on(a).as(service.token).raw(`{ me { kind } }`);
    const first = await eventually(async () => (await lastUsed()) ?? undefined);
    clock.advance(30_000);
    await on(a).as(service.token).raw(`{ me { kind } }`);
    // 61 s after the first write, the next use writes its own time, but only if the use at 30 s
    // wrote nothing: had it written, 61 s would be 31 s after that write, too soon for another.
    clock.advance(31_000);
    const third = clock.now().getTime();
    await on(a).as(service.token).raw(`{ me { kind } }`);
    await eventually(async () => ((await lastUsed()) !== first ? true : undefined));
    expect(Number(await lastUsed())).toBe(third);
  });

  it("a token only in the old column (previous release, backfill not run) works, is listed, and revoking it makes the column unusable", async () => {
    const service = await createService(on(a));
    const legacy = `hg_svc_${randomBytes(32).toString("base64url")}`;
    await a.database.sql.query(`UPDATE services SET token_hash = $1 WHERE id = $2`, [hashToken(legacy), Number(service.id)]);
    expect((await on(b).as(legacy).raw(`{ me { kind } }`)).data).toEqual({ me: { kind: "SERVICE" } });
    const listed = (await on(a).admin.raw(LIST, { s: service.id })).data as { apiTokens: { id: string; label: string }[] };
    expect(listed.apiTokens).toHaveLength(2);
    const adopted = listed.apiTokens[1]!;
    await on(a).admin.raw(REVOKE, { id: adopted.id });
    expect((await on(b).as(legacy).raw(`{ me { kind } }`)).status).toBe(401);
    const [row] = await a.database.sql.query<{ h: string }>(`SELECT token_hash AS h FROM services WHERE id = $1`, [Number(service.id)]);
    expect(row!.h).toMatch(/^revoked:/);
  });
});
