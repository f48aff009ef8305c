// The operator commands as an operator runs them: `hookgate migrate` and `hookgate replay` in a
// child process, on this project's store (PGlite in a data directory, or a fresh PostgreSQL database).
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { startGateway } from "../../src/server/gateway.js";
import { openDatabase } from "../../src/store/database.js";
import { readMigrations } from "../../src/store/migrator.js";
import { PublishEventsDocument } from "../generated/graphql.js";
import { GraphQLClient } from "../support/client.js";
import { createEventType, createService, createWebhook } from "../support/fixtures.js";
import { tableResolver } from "../support/gateway.js";
import { runHookgate } from "../support/processes.js";
import { createPostgresDatabase, storeKind } from "../support/store.js";

const kind = storeKind();

/** Runs `hookgate <command> [args]` to the end: exit code and everything it printed. */
async function hookgate(command: string, env: Record<string, string>, args: string[] = []) {
  const child = runHookgate(command, env, args);
  const code = await child.exited;
  return { code, output: child.output() };
}

/** A store of its own: a PGlite data directory, or a new PostgreSQL database. */
async function freshStore(): Promise<{ env: Record<string, string>; drop: () => Promise<void> }> {
  // An empty database: start-up applies the migrations (PostgreSQL needs HOOKGATE_MIGRATE=auto for that).
  const base = { HOOKGATE_LOG_LEVEL: "warn", HOOKGATE_ENCRYPTION_KEY: randomBytes(32).toString("base64"), HOOKGATE_MIGRATE: "auto" };
  if (kind === "pglite") {
    const dir = mkdtempSync(join(tmpdir(), "hookgate-cli-"));
    return { env: { ...base, HOOKGATE_DATA_DIR: dir }, drop: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  const { url, drop } = await createPostgresDatabase();
  return { env: { ...base, DATABASE_URL: url }, drop };
}

const stores: (() => Promise<void>)[] = [];
async function store() {
  const s = await freshStore();
  stores.push(s.drop);
  return s.env;
}
afterAll(async () => {
  for (const drop of stores) await drop();
});

describe(`hookgate migrate (${kind})`, () => {
  it("names the database, prints each migration as it is applied, and a summary; a second run has nothing to do", async () => {
    const env = await store();
    const names = readMigrations().map((m) => m.name);
    const first = await hookgate("migrate", env);
    expect(first.code, first.output).toBe(0);
    const lines = first.output.trim().split("\n");
    expect(lines[0]).toMatch(kind === "pglite" ? /^migrating the embedded database in \/tmp\// : /^migrating PostgreSQL database hookgate_test_\w+ on 127\.0\.0\.1:\d+$/);
    // Each migration as it is applied; a migration with a backfill.sql also reports its batches.
    const middle = lines.slice(1, -1);
    expect(middle.filter((l) => l.startsWith("  applying "))).toEqual(names.map((name) => `  applying ${name}`));
    expect(middle.filter((l) => !l.startsWith("  applying ") && !/^ {2}backfill(ing|ed) \d+_\w+/.test(l))).toEqual([]);
    expect(lines.at(-1)).toMatch(new RegExp(`^applied ${names.length} migration\\(s\\) in \\d+ ms; 0 were already applied$`));
    // The URL's credentials, if any, are never printed.
    expect(first.output).not.toContain("postgres@");

    const second = await hookgate("migrate", env);
    expect(second.code, second.output).toBe(0);
    expect(second.output.trim().split("\n").at(-1)).toBe(`database is up to date (${names.length} migrations applied)`);
  });
});

describe(`hookgate replay (${kind})`, () => {
  let env: Record<string, string>;
  let webhookId: string;
  let since: string;
  let eventIds: string[];

  beforeAll(async () => {
    env = await store();
    // Three events sent to one webhook, through a gateway that then stops (PGlite allows one process at a time).
    const adminToken = `hg_admin_${randomBytes(24).toString("base64url")}`;
    const config = loadConfig({ ...env, HOOKGATE_ROLE: "api", HOOKGATE_PORT: "0", HOOKGATE_ADMIN_TOKEN: adminToken, HOOKGATE_LOG_LEVEL: "silent" });
    const gateway = await startGateway({ config, resolver: tableResolver() });
    try {
      const as = (token?: string) => new GraphQLClient(gateway.url!, token);
      const t = { admin: as(adminToken), as };
      const service = await createService(t);
      const type = await createEventType(t);
      webhookId = (await createWebhook(service.client, { eventIds: [type.id] })).webhook.id;
      since = new Date(Date.now() - 60_000).toISOString();
      const { publishEvents } = await t.admin.ok(PublishEventsDocument, {
        input: { events: [1, 2, 3].map((n) => ({ eventName: type.name, payload: { n } })) },
      });
      eventIds = publishEvents.results.map((r) => r.event.id);
      // One of them failed for good (a final state is out of the dispatcher's queue).
      await gateway.database.sql.query(`UPDATE deliveries SET status = 'FAILED', next_attempt_at = NULL WHERE event_id = $1`, [eventIds[1]]);
      await gateway.database.sql.query(
        `DELETE FROM delivery_queue WHERE delivery_id IN (SELECT id FROM deliveries WHERE event_id = $1)`,
        [eventIds[1]],
      );
    } finally {
      await gateway.close();
    }
  });

  /** Deliveries per event id, read after the CLI has exited. */
  async function deliveriesPerEvent(): Promise<Record<string, number>> {
    const database = await openDatabase({ url: env.DATABASE_URL, dataDir: env.HOOKGATE_DATA_DIR });
    try {
      const rows = await database.sql.query<{ event_id: string; n: number }>(
        `SELECT event_id::text AS event_id, count(*)::int AS n FROM deliveries GROUP BY 1 ORDER BY 1`,
      );
      return Object.fromEntries(rows.map((r) => [r.event_id, Number(r.n)]));
    } finally {
      await database.close();
    }
  }

  it("--only-failed queues one new delivery of each failed event, and says how many", async () => {
    const result = await hookgate("replay", env, ["--webhook", webhookId, "--since", since, "--only-failed"]);
    expect(result.code, result.output).toBe(0);
    const lines = result.output.trim().split("\n");
    expect(lines[0]).toContain(`replaying webhook ${webhookId}: failed deliveries since ${since}`);
    expect(lines.at(-1)).toMatch(/^queued 1 new deliveries to https:\/\/receiver\.example\/hook in \d+ ms; running dispatchers send them at their next poll$/);
    expect(await deliveriesPerEvent()).toEqual({ [eventIds[0]!]: 1, [eventIds[1]!]: 2, [eventIds[2]!]: 1 });
  });

  it("without --only-failed queues every event once (--since=… form too)", async () => {
    const result = await hookgate("replay", env, [`--webhook=${webhookId}`, `--since=${since}`]);
    expect(result.code, result.output).toBe(0);
    expect(result.output).toMatch(/queued 3 new deliveries/);
    expect(await deliveriesPerEvent()).toEqual({ [eventIds[0]!]: 2, [eventIds[1]!]: 3, [eventIds[2]!]: 2 });
  });

  it("says so when there is nothing to replay, and fails for an unknown webhook", async () => {
    const future = new Date(Date.now() + 3_600_000).toISOString();
    const none = await hookgate("replay", env, ["--webhook", webhookId, "--since", future]);
    expect(none.code, none.output).toBe(0);
    expect(none.output).toContain(`nothing to replay: no deliveries of webhook ${webhookId} since ${future}`);

    const unknown = await hookgate("replay", env, ["--webhook", "999999", "--since", since]);
    expect(unknown.code, unknown.output).toBe(1);
    expect(unknown.output).toContain("hookgate: webhook 999999 not found");
  });

  it("refuses a database with pending migrations", async () => {
    const empty = await store();
    const result = await hookgate("replay", empty, ["--webhook", "1", "--since", since]);
    expect(result.code, result.output).toBe(1);
    expect(result.output).toMatch(/pending migration\(s\); run hookgate migrate first/);
  });

  // A wrong command line opens no database, so these run once (in the pglite project).
  it.runIf(kind === "pglite").each([
    [["--webhook", "1"], "replay needs --webhook <id> and --since <time>"],
    [["--webhook", "abc", "--since", "2026-01-01T00:00:00Z"], '--webhook must be a webhook id (got "abc")'],
    [["--webhook", "1", "--since", "yesterday"], '--since must be an ISO 8601 time such as 2026-11-23T08:00:00Z (got "yesterday")'],
    [["--webhook", "1", "--since", "2026-01-01T08:00:00"], "--since must be an ISO 8601 time"],
    [["--webhook", "1", "--since", "2026-01-01", "--force"], 'replay: unknown argument "--force"'],
  ])("refuses %j with usage help (exit 2)", async (args, message) => {
    const result = await hookgate("replay", { HOOKGATE_DATA_DIR: "/nonexistent/hookgate" }, args);
    expect(result.code, result.output).toBe(2);
    expect(result.output).toContain(`hookgate: ${message}`);
    expect(result.output).toContain("Usage: hookgate <command>");
  });
});
