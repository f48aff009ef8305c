// First start of a real gateway, as an operator runs it: no HOOKGATE_ADMIN_TOKEN, so one admin
// token is generated, printed once and stored as a hash; a restart creates none; secrets given
// to webhooks are sealed at rest yet still work after the restart.
//
// pglite project: embedded mode, PGlite on disk in a fresh HOOKGATE_DATA_DIR, encryption key
// generated into it. postgres project: the same checks against a fresh PostgreSQL database with
// HOOKGATE_ENCRYPTION_KEY configured, plus two gateways racing to bootstrap one database.
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { ensureAdminToken } from "../../src/auth/admin-tokens.js";
import { startGateway, type Gateway } from "../../src/server/gateway.js";
import type { SqlQuery } from "../../src/store/database.js";
import {
  CreateEventTypeDocument,
  CreateWebhookDocument,
  CreateWebhookServiceDocument,
  PublishEventDocument,
  WebhookSecretsDocument,
} from "../generated/graphql.js";
import { GraphQLClient } from "../support/client.js";
import { tableResolver } from "../support/gateway.js";
import { eventually, startReceiver, type Receiver } from "../support/receiver.js";
import { createPostgresDatabase, storeKind } from "../support/store.js";

const kind = storeKind();
const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

/** POSTs a GraphQL query with fetch, as any client would. */
async function graphql(url: string, query: string, token?: string) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query }),
  });
  return { status: response.status, body: (await response.json()) as { data?: { me?: { kind: string } | null } | null; errors?: { message: string }[] } };
}

/** Every row of every table as JSON text: where a leaked plaintext would show up. */
async function dumpDatabase(sql: SqlQuery): Promise<string> {
  const tables = await sql.query<{ name: string }>(
    `SELECT table_name::text AS name FROM information_schema.tables WHERE table_schema = current_schema()`,
  );
  const parts: string[] = [];
  for (const { name } of tables) {
    const rows = await sql.query<{ row: string }>(`SELECT row_to_json(t)::text AS row FROM "${name}" t`);
    parts.push(...rows.map((r) => `${name}: ${r.row}`));
  }
  return parts.join("\n");
}

describe(`first start (${kind === "pglite" ? "embedded: PGlite on disk" : "PostgreSQL"}) with no HOOKGATE_ADMIN_TOKEN`, () => {
  const dataDir = mkdtempSync(join(tmpdir(), "hookgate-bootstrap-"));
  const created: string[] = [];
  let env: Record<string, string>;
  let dropDatabase: (() => Promise<void>) | undefined;
  let receiver: Receiver;
  let gateway: Gateway | undefined;

  const start = async () => {
    const config = loadConfig(env);
    expect(config.HOOKGATE_ADMIN_TOKEN).toBeUndefined();
    return startGateway({ config, onAdminTokenCreated: (token) => created.push(token), resolver: tableResolver() });
  };

  beforeAll(async () => {
    receiver = await startReceiver();
    env = {
      HOOKGATE_DATA_DIR: dataDir,
      HOOKGATE_PORT: "0",
      HOOKGATE_HOST: "127.0.0.1",
      HOOKGATE_LOG_LEVEL: process.env.HOOKGATE_TEST_LOG_LEVEL ?? "silent",
      // The receiver listens on 127.0.0.1.
      HOOKGATE_ALLOW_PRIVATE_TARGETS: "true",
      HOOKGATE_POLL_MS: "50",
      // An empty database: the gateway applies the migrations (embedded mode always does).
      HOOKGATE_MIGRATE: "auto",
    };
    if (kind === "postgres") {
      const db = await createPostgresDatabase();
      dropDatabase = db.drop;
      env.DATABASE_URL = db.url;
      env.HOOKGATE_ENCRYPTION_KEY = randomBytes(32).toString("base64");
    }
    gateway = await start();
  });

  afterAll(async () => {
    await gateway?.close();
    await receiver?.close();
    await dropDatabase?.();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const secrets = {
    password: `pw-${randomBytes(9).toString("hex")}`,
    token: `tok-${randomBytes(9).toString("hex")}`,
    header: `hdr-${randomBytes(9).toString("hex")}`,
  };
  const webhooks: { basic?: string; token?: string; signingSecrets: string[] } = { signingSecrets: [] };
  let eventName: string;

  it("runs on the store this project is about", () => {
    expect(gateway!.database.kind).toBe(kind);
  });

  it("creates exactly one admin token and hands it over once", async () => {
    expect(created).toHaveLength(1);
    expect(created[0]).toMatch(/^hg_admin_[A-Za-z0-9_-]{43}$/);
    const rows = await gateway!.database.sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM admin_tokens`);
    expect(rows[0]!.n).toBe(1);
  });

  it("stores only the token's SHA-256 hash: the raw token appears nowhere in admin_tokens", async () => {
    const token = created[0]!;
    const rows = await gateway!.database.sql.query<Record<string, unknown>>(`SELECT * FROM admin_tokens`);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.token_hash).toBe(sha256(token));
    const secretPart = token.slice("hg_admin_".length);
    for (const [column, value] of Object.entries(rows[0]!)) {
      const text = value instanceof Date ? value.toISOString() : String(value);
      expect(text, `admin_tokens.${column}`).not.toContain(secretPart);
    }
    // Nor anywhere else in the database.
    expect(await dumpDatabase(gateway!.database.sql)).not.toContain(secretPart);
  });

  it("accepts the token on the API: { me { kind } } is ADMIN over HTTP", async () => {
    const { status, body } = await graphql(gateway!.url!, "{ me { kind } }", created[0]);
    expect(status).toBe(200);
    expect(body).toEqual({ data: { me: { kind: "ADMIN" } } });
    // A token of the same shape that was never issued is refused: the check above can fail.
    const forged = await graphql(gateway!.url!, "{ me { kind } }", `hg_admin_${randomBytes(32).toString("base64url")}`);
    expect(forged.body.data?.me).toBeFalsy();
    expect(forged.body.errors?.length).toBeGreaterThan(0);
  });

  it("answers /healthz and /readyz with 200 once migrations are applied", async () => {
    const base = new URL(gateway!.url!).origin;
    const health = await fetch(`${base}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.text()).toBe("ok\n");
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ database: "ok", migrations: "applied" });
  });

  if (kind === "pglite") {
    it("generates the encryption key into the data dir, readable by the owner only (0600)", () => {
      const file = join(dataDir, "encryption.key");
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(Buffer.from(readFileSync(file, "utf8").trim(), "base64")).toHaveLength(32);
    });
  } else {
    it("uses the configured encryption key and writes no key file", () => {
      expect(existsSync(join(dataDir, "encryption.key"))).toBe(false);
    });
  }

  it("seals a webhook's Basic password, auth token and secret header value: no plaintext in any text column", async () => {
    const admin = new GraphQLClient(gateway!.url!, created[0]);
    const { createWebhookService } = await admin.ok(CreateWebhookServiceDocument, { input: { title: "bootstrap" } });
    eventName = `BOOTSTRAP_${randomBytes(4).toString("hex").toUpperCase()}`;
    const { createEventType } = await admin.ok(CreateEventTypeDocument, { input: { name: eventName, sampleData: { a: 1 } } });
    const common = {
      serviceId: createWebhookService.service.id,
      eventIds: [createEventType.id],
      requestHeaders: [{ name: "X-Shared-Secret", value: secrets.header }],
    };
    const basic = await admin.ok(CreateWebhookDocument, {
      input: { ...common, url: receiver.url("/basic"), auth: { basic: { username: "thulium", password: secrets.password } } },
    });
    const token = await admin.ok(CreateWebhookDocument, {
      input: { ...common, url: receiver.url("/token"), auth: { token: secrets.token } },
    });
    webhooks.basic = basic.createWebhook.webhook.id;
    webhooks.token = token.createWebhook.webhook.id;
    webhooks.signingSecrets.push(basic.createWebhook.signingSecret, token.createWebhook.signingSecret);

    const sql = gateway!.database.sql;
    const textColumns = (
      await sql.query<{ name: string }>(
        `SELECT column_name::text AS name FROM information_schema.columns
          WHERE table_schema = current_schema() AND table_name = 'webhooks' AND data_type IN ('text', 'character varying', 'json', 'jsonb')`,
      )
    ).map((c) => c.name);
    expect(textColumns).toEqual(expect.arrayContaining(["request_headers_sealed", "auth_secret_sealed", "signing_secret_sealed", "url"]));
    const plaintexts = [
      secrets.password,
      secrets.token,
      secrets.header,
      Buffer.from(`thulium:${secrets.password}`).toString("base64"),
      ...webhooks.signingSecrets,
      ...webhooks.signingSecrets.map((s) => s.slice("whsec_".length)),
    ];
    const rows = await sql.query<Record<string, string | null>>(
      `SELECT id, ${textColumns.map((c) => `"${c}"::text AS "${c}"`).join(", ")} FROM webhooks WHERE id = ANY($1::int[]) ORDER BY id`,
      [[Number(webhooks.basic), Number(webhooks.token)]],
    );
    expect(rows).toHaveLength(2);
    for (const row of rows) {
      // The checks below would pass on empty columns; the secrets must be there, sealed.
      expect(row.auth_secret_sealed).toMatch(/^v1\./);
      expect(row.request_headers_sealed).toMatch(/^v1\./);
      expect(row.signing_secret_sealed).toMatch(/^v1\./);
      for (const column of textColumns) {
        for (const plain of plaintexts) expect(row[column] ?? "", `webhooks.${column} of webhook ${row.id}`).not.toContain(plain);
      }
    }
    const everything = await dumpDatabase(sql);
    for (const plain of plaintexts) expect(everything).not.toContain(plain);
  });

  it("reads the secret header back through the API, and never the password or token", async () => {
    const admin = new GraphQLClient(gateway!.url!, created[0]);
    const { webhooks: page } = await admin.ok(WebhookSecretsDocument, {});
    const byId = new Map(page.data.map((w) => [w.id, w]));
    expect(byId.get(webhooks.basic!)).toEqual({
      id: webhooks.basic,
      requestHeaders: [{ name: "X-Shared-Secret", value: secrets.header }],
      auth: { type: "BASIC", username: "thulium" },
    });
    expect(byId.get(webhooks.token!)).toEqual({
      id: webhooks.token,
      requestHeaders: [{ name: "X-Shared-Secret", value: secrets.header }],
      auth: { type: "TOKEN", username: null },
    });
  });

  it("on a second start of the same store creates no token, keeps the first one working, and still opens the secrets", async () => {
    await gateway!.close();
    gateway = undefined;
    gateway = await start();

    expect(created).toHaveLength(1);
    const rows = await gateway.database.sql.query<{ token_hash: string }>(`SELECT token_hash FROM admin_tokens`);
    expect(rows).toEqual([{ token_hash: sha256(created[0]!) }]);
    expect((await graphql(gateway.url!, "{ me { kind } }", created[0])).body).toEqual({ data: { me: { kind: "ADMIN" } } });

    // Sealed with the key of the first start, opened with the key this start found.
    const admin = new GraphQLClient(gateway.url!, created[0]);
    const { webhooks: page } = await admin.ok(WebhookSecretsDocument, {});
    expect(page.data.find((w) => w.id === webhooks.basic)?.requestHeaders).toEqual([{ name: "X-Shared-Secret", value: secrets.header }]);

    // The write-only secrets come back the only way they ever leave: on the wire, to the receiver.
    await admin.ok(PublishEventDocument, { input: { eventName, payload: { after: "restart" } } });
    const [toBasic, toToken] = await eventually(() => {
      const b = receiver.requests.find((r) => r.path === "/basic");
      const t = receiver.requests.find((r) => r.path === "/token");
      return b && t ? [b, t] : undefined;
    });
    expect(toBasic!.headers.authorization).toBe(`Basic ${Buffer.from(`thulium:${secrets.password}`).toString("base64")}`);
    expect(toToken!.headers.authorization).toBe(`Bearer ${secrets.token}`);
    expect(toBasic!.headers["x-shared-secret"]).toBe(secrets.header);
    expect(toToken!.headers["x-shared-secret"]).toBe(secrets.header);

    // The attempt log keeps what was sent, with the secrets redacted.
    await eventually(async () => {
      const [n] = await gateway!.database.sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM delivery_attempts`);
      return n!.n === 2;
    });
    const everything = await dumpDatabase(gateway.database.sql);
    for (const plain of [secrets.password, secrets.token, secrets.header]) expect(everything).not.toContain(plain);
  });

  it("creates no token when HOOKGATE_ADMIN_TOKEN is set, and one only when two bootstraps overlap", async () => {
    const db = gateway!.database;
    await db.sql.query(`DELETE FROM admin_tokens`);
    expect(await ensureAdminToken(db, `hg_admin_${randomBytes(24).toString("base64url")}`)).toBeUndefined();
    expect(await db.sql.query(`SELECT 1 FROM admin_tokens`)).toEqual([]);

    const results = await Promise.all([ensureAdminToken(db, undefined), ensureAdminToken(db, undefined), ensureAdminToken(db, undefined)]);
    const tokens = results.filter((t): t is string => t !== undefined);
    expect(tokens).toHaveLength(1);
    expect(await db.sql.query(`SELECT token_hash FROM admin_tokens`)).toEqual([{ token_hash: sha256(tokens[0]!) }]);
  });
});

if (kind === "postgres") {
  describe("two gateways starting at once on one empty PostgreSQL database", () => {
    it("migrate it once and bootstrap exactly one admin token between them", async () => {
      const { url, drop } = await createPostgresDatabase();
      const config = loadConfig({
        DATABASE_URL: url,
        HOOKGATE_ENCRYPTION_KEY: randomBytes(32).toString("base64"),
        HOOKGATE_PORT: "0",
        HOOKGATE_HOST: "127.0.0.1",
        HOOKGATE_LOG_LEVEL: "silent",
        HOOKGATE_ROLE: "api",
        HOOKGATE_MIGRATE: "auto",
      });
      const created: string[] = [];
      const starts = await Promise.allSettled(
        [1, 2].map(() => startGateway({ config, onAdminTokenCreated: (t) => created.push(t), resolver: tableResolver() })),
      );
      try {
        expect(starts.map((s) => s.status)).toEqual(["fulfilled", "fulfilled"]);
        expect(created).toHaveLength(1);
        const [a, b] = starts.map((s) => (s as PromiseFulfilledResult<Gateway>).value);
        const rows = await a!.database.sql.query<{ token_hash: string }>(`SELECT token_hash FROM admin_tokens`);
        expect(rows).toEqual([{ token_hash: sha256(created[0]!) }]);
        for (const g of [a!, b!]) {
          expect((await graphql(g.url!, "{ me { kind } }", created[0])).body).toEqual({ data: { me: { kind: "ADMIN" } } });
        }
      } finally {
        await Promise.all(starts.map((s) => (s.status === "fulfilled" ? s.value.close() : undefined)));
        await drop();
      }
    });
  });
}
