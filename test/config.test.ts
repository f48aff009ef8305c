import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { ConfigError, loadConfig, settingDocs, type Config } from "../src/config.js";
import { README, TABLE_END, TABLE_START, readmeTable, renderConfigTable, withCurrentTable } from "../scripts/config-table.js";

const KEY = randomBytes(32).toString("base64");

function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw new Error(`expected a ConfigError, got ${String(error)}`);
  }
  throw new Error(`loadConfig(${JSON.stringify(env)}) accepted it`);
}

describe("loadConfig with a bad value", () => {
  it.each([
    [{ HOOKGATE_PORT: "abc" }, "HOOKGATE_PORT", /must be a whole number/],
    [{ HOOKGATE_PORT: " " }, "HOOKGATE_PORT", /must be a whole number/],
    [{ HOOKGATE_PORT: "0x10" }, "HOOKGATE_PORT", /must be a whole number/],
    [{ HOOKGATE_PORT: "70000" }, "HOOKGATE_PORT", /65535/],
    [{ HOOKGATE_PORT: "-1" }, "HOOKGATE_PORT", /must be a whole number/],
    [{ HOOKGATE_PORT: "80.5" }, "HOOKGATE_PORT", /must be a whole number/],
    [{ DATABASE_URL: "mysql://x" }, "DATABASE_URL", /must start with postgresql:\/\//],
    [{ HOOKGATE_GRAPHIQL: "maybe" }, "HOOKGATE_GRAPHIQL", /must be true or false/],
    [{ HOOKGATE_CONSOLE_FRAME_ANCESTORS: "https://a.example; script-src *" }, "HOOKGATE_CONSOLE_FRAME_ANCESTORS", /not one/],
    [{ HOOKGATE_CONSOLE_FRAME_ANCESTORS: "'none', https://a.example" }, "HOOKGATE_CONSOLE_FRAME_ANCESTORS", /not one/],
    [{ HOOKGATE_PUBLIC_URL: "ftp://hooks.example" }, "HOOKGATE_PUBLIC_URL", /http\(s\) URL/],
    [{ HOOKGATE_ALLOW_PRIVATE_TARGETS: "TRUE!" }, "HOOKGATE_ALLOW_PRIVATE_TARGETS", /must be true or false/],
    [{ HOOKGATE_ENCRYPTION_KEY: "short" }, "HOOKGATE_ENCRYPTION_KEY", /must be 32 bytes in base64/],
    [{ DATABASE_URL: "postgresql://postgres@127.0.0.1:5432/x" }, "HOOKGATE_ENCRYPTION_KEY", /is required with DATABASE_URL/],
    [{ HOOKGATE_ADMIN_TOKEN: "too-short" }, "HOOKGATE_ADMIN_TOKEN", /at least 24 characters/],
    [{ HOOKGATE_ROLE: "both" }, "HOOKGATE_ROLE", /"all".*"api".*"worker"/],
    [{ HOOKGATE_LOG_LEVEL: "loud" }, "HOOKGATE_LOG_LEVEL", /"info"/],
    [{ HOOKGATE_MAX_PAGE_SIZE: "ten" }, "HOOKGATE_MAX_PAGE_SIZE", /must be a whole number/],
    [{ HOOKGATE_MAX_PAGE_SIZE: "5000" }, "HOOKGATE_MAX_PAGE_SIZE", /1000/],
    [{ HOOKGATE_DISPATCH_CONCURRENCY: "20000" }, "HOOKGATE_DISPATCH_CONCURRENCY", /10000/],
    [{ HOOKGATE_LEASE_SECONDS: "0" }, "HOOKGATE_LEASE_SECONDS", /must be greater than 0/],
    [{ HOOKGATE_LEASE_SECONDS: "20" }, "HOOKGATE_LEASE_SECONDS", /must be longer than an attempt can take .* 26 s/],
    [{ HOOKGATE_POLL_MS: "1.5" }, "HOOKGATE_POLL_MS", /must be a whole number/],
    [{ HOOKGATE_DISABLE_AFTER_FAILURES: "-1" }, "HOOKGATE_DISABLE_AFTER_FAILURES", /must be a whole number/],
    [{ HOOKGATE_DISABLE_AFTER_DAYS: "soon" }, "HOOKGATE_DISABLE_AFTER_DAYS", /must be a number of days/],
    [{ HOOKGATE_MAX_BODY_BYTES: "1mb" }, "HOOKGATE_MAX_BODY_BYTES", /must be a whole number/],
    [{ HOOKGATE_MAX_BODY_BYTES: "100000" }, "HOOKGATE_MAX_BODY_BYTES", /must be at least 278528: room for one event of HOOKGATE_MAX_PAYLOAD_BYTES/],
    [{ HOOKGATE_MAX_BODY_BYTES: "300000", HOOKGATE_MAX_BATCH_SIZE: "1000" }, "HOOKGATE_MAX_BODY_BYTES", /must be at least 512000/],
    [{ HOOKGATE_INTROSPECTION: "off" }, "HOOKGATE_INTROSPECTION", /must be true or false/],
    [{ HOOKGATE_METRICS: "public" }, "HOOKGATE_METRICS", /must be true, false or admin/],
    [{ HOOKGATE_RATE_LIMIT_MUTATIONS: "-5" }, "HOOKGATE_RATE_LIMIT_MUTATIONS", /must be a whole number/],
    [{ HOOKGATE_RATE_LIMIT_PUBLISH: "100" }, "HOOKGATE_RATE_LIMIT_PUBLISH", /must be 0 or at least HOOKGATE_MAX_BATCH_SIZE \(500\)/],
    [{ HOOKGATE_MAX_SUBSCRIPTIONS_PER_CONNECTION: "many" }, "HOOKGATE_MAX_SUBSCRIPTIONS_PER_CONNECTION", /must be a whole number/],
    [{ HOOKGATE_REDIS_KEY_PREFIX: "has space" }, "HOOKGATE_REDIS_KEY_PREFIX", /must be 1 to 64 of/],
  ] as const)("%j stops with one line naming %s and what is wrong", (env, variable, what) => {
    const error = configError(env);
    expect(error.name).toBe("ConfigError");
    expect(error.message).not.toContain("\n");
    expect(error.message.startsWith(`${variable} `), error.message).toBe(true);
    expect(error.message).toMatch(what);
    // A number out of range is not "not a number" (a schema-wide message once replaced the range's own).
    if (/^\d+$/.test(Object.values(env)[0]!) && variable !== "HOOKGATE_ENCRYPTION_KEY") {
      expect(error.message).not.toContain("must be a whole number");
    }
  });

  it("shows the offending value of an ordinary setting", () => {
    expect(configError({ HOOKGATE_PORT: "abc" }).message).toContain('(got "abc")');
  });

  it.each([
    ["HOOKGATE_ENCRYPTION_KEY", randomBytes(32).toString("hex")],
    ["HOOKGATE_ADMIN_TOKEN", "hg_admin_leaked"],
    ["DATABASE_URL", "mysql://hookgate:leaked-password@127.0.0.1/hookgate"],
  ])("never echoes the value of the secret %s", (variable, value) => {
    const message = configError({ [variable]: value }).message;
    expect(message.startsWith(`${variable} `)).toBe(true);
    expect(message).not.toContain(value);
    expect(message).not.toContain("leaked");
    expect(message).toContain(`${value.length} characters, not shown`);
  });

  it("reports the first bad setting only", () => {
    const message = configError({ HOOKGATE_PORT: "abc", HOOKGATE_GRAPHIQL: "maybe" }).message;
    expect(message).toMatch(/^HOOKGATE_PORT /);
    expect(message).not.toContain("HOOKGATE_GRAPHIQL");
  });
});

describe("loadConfig defaults", () => {
  const defaults: Config = {
    HOOKGATE_CONFIG_FILE: undefined,
    HOOKGATE_HOST: "127.0.0.1",
    HOOKGATE_PORT: 4000,
    PORT: undefined,
    DATABASE_URL: undefined,
    REDIS_URL: undefined,
    HOOKGATE_DATA_DIR: "./data",
    HOOKGATE_ADMIN_TOKEN: undefined,
    HOOKGATE_IDLE_IN_TRANSACTION_TIMEOUT_MS: 30_000,
    HOOKGATE_ENCRYPTION_KEY: undefined,
    HOOKGATE_MAX_PAYLOAD_BYTES: 262_144,
    HOOKGATE_MAX_PAGE_SIZE: 100,
    HOOKGATE_MAX_BATCH_SIZE: 500,
    HOOKGATE_MAX_QUERY_DEPTH: 12,
    HOOKGATE_MAX_QUERY_COST: 20_000,
    HOOKGATE_MAX_QUERY_ALIASES: 30,
    HOOKGATE_MAX_QUERY_TOKENS: 5_000,
    HOOKGATE_MAX_BODY_BYTES: 1_048_576,
    HOOKGATE_INTROSPECTION: true,
    HOOKGATE_METRICS: "true",
    HOOKGATE_METRICS_PORT: undefined,
    HOOKGATE_RATE_LIMIT_PUBLISH: 60_000,
    HOOKGATE_RATE_LIMIT_MUTATIONS: 600,
    HOOKGATE_RATE_LIMIT_CONNECTIONS: 60,
    HOOKGATE_RATE_LIMIT_QUERIES: 1_200,
    HOOKGATE_RATE_LIMIT_UNAUTHENTICATED: 600,
    HOOKGATE_MAX_SUBSCRIPTIONS_PER_TOKEN: 200,
    HOOKGATE_SSE_RESERVATION_TIMEOUT_MS: 30_000,
    HOOKGATE_MAX_GRAPHQL_RESPONSE_BYTES: 33_554_432,
    HOOKGATE_MAX_SUBSCRIPTIONS_PER_CONNECTION: 100,
    HOOKGATE_REDIS_COMMAND_TIMEOUT_MS: 1_000,
    HOOKGATE_TRUSTED_PROXIES: undefined,
    HOOKGATE_HTTP_HEADERS_TIMEOUT_MS: 10_000,
    HOOKGATE_HTTP_REQUEST_TIMEOUT_MS: 30_000,
    HOOKGATE_HTTP_KEEP_ALIVE_TIMEOUT_MS: 5_000,
    HOOKGATE_MIGRATE: "off",
    HOOKGATE_MIGRATION_LOCK_TIMEOUT_MS: 500,
    HOOKGATE_REDIS_KEY_PREFIX: "hookgate:",
    HOOKGATE_ROLE: "all",
    HOOKGATE_ALLOW_PRIVATE_TARGETS: false,
    HOOKGATE_DELIVERY_TIMEOUT_MS: 15_000,
    HOOKGATE_CONNECT_TIMEOUT_MS: 10_000,
    HOOKGATE_MAX_RESPONSE_BYTES: 65_536,
    HOOKGATE_DISPATCH_BATCH: 200,
    HOOKGATE_DISPATCH_CONCURRENCY: 200,
    HOOKGATE_MAX_IN_FLIGHT_PER_WEBHOOK: 50,
    HOOKGATE_MAX_REPLAY_DELIVERIES: 1000,
    HOOKGATE_LEASE_SECONDS: 60,
    HOOKGATE_POLL_MS: 500,
    HOOKGATE_DISABLE_AFTER_DAYS: 5,
    HOOKGATE_DISABLE_AFTER_FAILURES: 0,
    HOOKGATE_FAILING_AFTER_FAILURES: 5,
    HOOKGATE_RETENTION_DAYS: 30,
    HOOKGATE_ATTEMPT_BODY_RETENTION_DAYS: 7,
    HOOKGATE_RETENTION_INTERVAL_MS: 60_000,
    HOOKGATE_LIVE_BUFFER: 1_000,
    HOOKGATE_LIVE_POLL_MS: 1_000,
    HOOKGATE_PULL_VISIBILITY_SECONDS: 60,
    HOOKGATE_LOG_LEVEL: "info",
    HOOKGATE_GRAPHIQL: true,
    HOOKGATE_CONSOLE_FRAME_ANCESTORS: ["'none'"],
    HOOKGATE_PUBLIC_URL: undefined,
  };

  it("takes PORT (the platform convention) when HOOKGATE_PORT is not set; HOOKGATE_PORT wins when both are", () => {
    expect(loadConfig({ PORT: "8080" }).HOOKGATE_PORT).toBe(8080);
    expect(loadConfig({ PORT: "8080", HOOKGATE_PORT: "9090" }).HOOKGATE_PORT).toBe(9090);
    expect(loadConfig({ PORT: "8080", HOOKGATE_PORT: "" }).HOOKGATE_PORT).toBe(8080);
    expect(() => loadConfig({ PORT: "eighty" })).toThrow(/^PORT must be a whole number/);
  });

  it("applies every default to an empty environment", () => {
    expect(loadConfig({})).toEqual(defaults);
  });

  it("treats an empty value as unset", () => {
    expect(loadConfig({ HOOKGATE_PORT: "", HOOKGATE_GRAPHIQL: "", DATABASE_URL: "", HOOKGATE_ENCRYPTION_KEY: "" })).toEqual(defaults);
  });

  it("documents the default it applies, for every setting", () => {
    const config = loadConfig({}) as Record<string, unknown>;
    expect(settingDocs.map((d) => d.env).sort()).toEqual(Object.keys(defaults).sort());
    for (const doc of settingDocs) {
      // "(unset: …)" describes a setting that has no value by default.
      const expected = doc.default.startsWith("(") ? undefined : doc.default;
      expect(config[doc.env] === undefined ? undefined : String(config[doc.env]), doc.env).toBe(expected);
    }
  });

  it("parses good values into their types", () => {
    const config = loadConfig({
      HOOKGATE_PORT: "0",
      DATABASE_URL: "postgres://postgres@127.0.0.1:5432/hookgate",
      HOOKGATE_ENCRYPTION_KEY: KEY,
      HOOKGATE_GRAPHIQL: "no",
      HOOKGATE_ALLOW_PRIVATE_TARGETS: "1",
      HOOKGATE_ROLE: "worker",
      HOOKGATE_DISABLE_AFTER_DAYS: "0.5",
      HOOKGATE_MAX_PAGE_SIZE: "1000",
    });
    expect(config).toMatchObject({
      HOOKGATE_PORT: 0,
      DATABASE_URL: "postgres://postgres@127.0.0.1:5432/hookgate",
      HOOKGATE_ENCRYPTION_KEY: KEY,
      HOOKGATE_GRAPHIQL: false,
      HOOKGATE_ALLOW_PRIVATE_TARGETS: true,
      HOOKGATE_ROLE: "worker",
      HOOKGATE_DISABLE_AFTER_DAYS: 0.5,
      HOOKGATE_MAX_PAGE_SIZE: 1000,
    });
  });
});

describe("HOOKGATE_CONFIG_FILE", () => {
  const dir = mkdtempSync(join(tmpdir(), "hookgate-config-"));
  const file = (name: string, content: unknown) => {
    const path = join(dir, name);
    writeFileSync(path, typeof content === "string" ? content : JSON.stringify(content));
    return path;
  };
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("reads settings by name, numbers and booleans as the environment would give them", () => {
    const path = file("good.json", { HOOKGATE_PORT: 5000, HOOKGATE_GRAPHIQL: false, HOOKGATE_METRICS: "admin", HOOKGATE_HOST: "" });
    expect(loadConfig({ HOOKGATE_CONFIG_FILE: path })).toMatchObject({
      HOOKGATE_CONFIG_FILE: path,
      HOOKGATE_PORT: 5000,
      HOOKGATE_GRAPHIQL: false,
      HOOKGATE_METRICS: "admin",
      HOOKGATE_HOST: "127.0.0.1",
    });
  });

  it("the environment wins over the file", () => {
    const path = file("port.json", { HOOKGATE_PORT: 5000, HOOKGATE_LOG_LEVEL: "debug" });
    expect(loadConfig({ HOOKGATE_CONFIG_FILE: path, HOOKGATE_PORT: "6000" })).toMatchObject({ HOOKGATE_PORT: 6000, HOOKGATE_LOG_LEVEL: "debug" });
  });

  it("validates the file's values the same way, in one line naming the setting and the file", () => {
    const path = file("bad.json", { HOOKGATE_PORT: "abc" });
    const error = configError({ HOOKGATE_CONFIG_FILE: path });
    expect(error.message).toBe(`HOOKGATE_PORT must be a whole number (got "abc") in ${path}`);
    // The cross-checks see the merged settings too.
    expect(configError({ HOOKGATE_CONFIG_FILE: file("body.json", { HOOKGATE_MAX_BODY_BYTES: 1000 }) }).message).toMatch(/^HOOKGATE_MAX_BODY_BYTES must be at least/);
  });

  it("never echoes a secret from the file", () => {
    const path = file("secret.json", { DATABASE_URL: "mysql://u:leaked-password@127.0.0.1/x" });
    const message = configError({ HOOKGATE_CONFIG_FILE: path }).message;
    expect(message).toMatch(/^DATABASE_URL must start with postgresql:\/\//);
    expect(message).not.toContain("leaked");
  });

  it.each([
    ["a missing file", () => join(dir, "missing.json"), /^HOOKGATE_CONFIG_FILE cannot be read: ENOENT/],
    ["not JSON", () => file("broken.json", "{ port: 1"), /^HOOKGATE_CONFIG_FILE .*broken\.json is not valid JSON/],
    ["not an object", () => file("list.json", [1]), /must hold a JSON object of settings by name/],
    ["an unknown setting (a typo)", () => file("typo.json", { HOOKGATE_PROT: 1 }), /names an unknown setting "HOOKGATE_PROT"/],
    ["a nested value", () => file("nested.json", { HOOKGATE_PORT: { value: 1 } }), /^HOOKGATE_PORT must be a string, number or boolean in /],
  ])("%s -> one line saying what is wrong", (_what, path, pattern) => {
    const message = configError({ HOOKGATE_CONFIG_FILE: path() }).message;
    expect(message).not.toContain("\n");
    expect(message).toMatch(pattern);
  });
});

describe("the README configuration table", () => {
  const table = renderConfigTable();

  it("has a row for every setting, in markdown", () => {
    const lines = table.trimEnd().split("\n");
    expect(lines[0]).toBe("| Variable | Default | Description |");
    expect(lines[1]).toBe("| --- | --- | --- |");
    expect(lines.slice(2).map((l) => /^\| `([A-Z_]+)` \|/.exec(l)?.[1])).toEqual(settingDocs.map((d) => d.env));
    expect(table).toContain("| `HOOKGATE_PORT` | `4000` |");
  });

  it("is exactly what README.md holds between the markers, under ## Configuration", () => {
    const readme = readFileSync(README, "utf8");
    expect(readme.indexOf("## Configuration"), "README.md needs a ## Configuration heading").toBeGreaterThanOrEqual(0);
    expect(readme.indexOf("## Configuration")).toBeLessThan(readme.indexOf(TABLE_START));
    expect(readmeTable(readme), "README.md's configuration table is stale: run `npx tsx scripts/config-table.ts --write`").toBe(
      `\n${table}`,
    );
  });

  it("is rewritten in place by --write, leaving the rest of the README alone", () => {
    const stale = `# Title\n\nBefore.\n\n${TABLE_START}\n| old | table |\n${TABLE_END}\n\nAfter.\n`;
    expect(withCurrentTable(stale)).toBe(`# Title\n\nBefore.\n\n${TABLE_START}\n${table}${TABLE_END}\n\nAfter.\n`);
    expect(withCurrentTable(withCurrentTable(stale))).toBe(withCurrentTable(stale));
    expect(() => withCurrentTable("# no markers\n")).toThrow(/markers/);
  });

  it("is what the script prints", () => {
    const tsx = createRequire(import.meta.url).resolve("tsx/cli");
    const script = fileURLToPath(new URL("../scripts/config-table.ts", import.meta.url));
    expect(execFileSync(process.execPath, [tsx, script], { encoding: "utf8" })).toBe(table);
  });
});
