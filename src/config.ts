import { readFileSync } from "node:fs";
import ipaddr from "ipaddr.js";
import { z } from "zod";

/**
 * Every setting Hookgate reads, in one table. The README's configuration table is
 * checked against this list (test/config.test.ts), so add a setting here first.
 */
export interface SettingDoc {
  readonly env: string;
  readonly default: string;
  readonly description: string;
}

const bool = z
  .enum(["true", "false", "1", "0", "yes", "no"], { message: "must be true or false" })
  .transform((v) => v === "true" || v === "1" || v === "yes");

// The message is for input that is no number at all; a schema-wide message would also replace
// the range checks' own ("HOOKGATE_MAX_PAGE_SIZE=5000" must not say "must be a number").
// Digits only: Number() would also take " " (as 0) and "0x10" (as 16).
const wholeNumber = z
  .string()
  .trim()
  .regex(/^\d+$/, "must be a whole number")
  .transform(Number);

const positiveInt = (max = Number.MAX_SAFE_INTEGER) =>
  wholeNumber.pipe(z.number().positive("must be greater than 0").max(max, `must be at most ${max}`));

/** A comma-separated list of IP addresses and CIDR ranges (IPv4 or IPv6); empty: none. */
const addressList = z
  .string()
  .optional()
  .transform((value, ctx) => {
    if (value === undefined) return undefined;
    const entries = value.split(",").map((e) => e.trim()).filter(Boolean);
    for (const entry of entries) {
      if (!(ipaddr.IPv4.isValidFourPartDecimal(entry) || ipaddr.IPv6.isValid(entry) || ipaddr.isValidCIDR(entry))) {
        ctx.addIssue({ code: "custom", message: `must be a comma-separated list of IP addresses or CIDR ranges ("${entry}" is neither)` });
        return z.NEVER;
      }
    }
    return entries as readonly string[];
  });

/** CSP frame-ancestors sources: 'none', 'self', or origins (a scheme, a host with an optional leading *., a port). */
const frameAncestors = z
  .string()
  .default("'none'")
  .transform((value, ctx) => {
    const entries = value.split(",").map((e) => e.trim()).filter(Boolean);
    if (!entries.length) return ["'none'"] as readonly string[];
    for (const entry of entries) {
      const ok = entry === "'self'" || entry === "'none'" || /^https?:\/\/(\*\.)?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*(:\d{1,5})?$/.test(entry);
      if (!ok || (entry === "'none'" && entries.length > 1)) {
        ctx.addIssue({ code: "custom", message: `must be 'none', or a comma-separated list of 'self' and origins like https://app.example.com ("${entry}" is not one)` });
        return z.NEVER;
      }
    }
    return entries as readonly string[];
  });

/** An http(s) base address, kept without a trailing slash. */
const publicUrl = z
  .string()
  .optional()
  .transform((value, ctx) => {
    if (value === undefined || value.trim() === "") return undefined;
    let url: URL;
    try {
      url = new URL(value.trim());
    } catch {
      ctx.addIssue({ code: "custom", message: "must be an http(s) URL like https://hooks.example.com" });
      return z.NEVER;
    }
    if (!/^https?:$/.test(url.protocol) || url.username || url.password || url.search || url.hash) {
      ctx.addIssue({ code: "custom", message: "must be an http(s) URL like https://hooks.example.com, without credentials, query or fragment" });
      return z.NEVER;
    }
    return url.href.replace(/\/+$/, "");
  });

const settings = {
  HOOKGATE_CONFIG_FILE: {
    schema: z.string().min(1).optional(),
    doc: {
      default: "(unset: environment only)",
      description:
        "A JSON file of settings, keyed by these same names (values as strings, numbers or booleans). The environment wins over the file; both are validated the same way.",
    },
  },
  HOOKGATE_HOST: {
    schema: z.string().min(1).default("127.0.0.1"),
    doc: { default: "127.0.0.1", description: "Address the HTTP server binds to." },
  },
  HOOKGATE_PORT: {
    schema: wholeNumber.pipe(z.number().max(65535, "must be at most 65535")).default(4000),
    doc: { default: "4000", description: "Port of the GraphQL API and GraphiQL (0 picks a free one). Wins over PORT when both are set." },
  },
  PORT: {
    schema: wholeNumber.pipe(z.number().max(65535, "must be at most 65535")).optional(),
    doc: { default: "(unset)", description: "The platform's port convention (Heroku, Cloud Run, Render…): used as HOOKGATE_PORT when HOOKGATE_PORT is not set." },
  },
  DATABASE_URL: {
    schema: z
      .string()
      .regex(/^postgres(ql)?:\/\//, "must start with postgresql://")
      .optional(),
    secret: true,
    doc: { default: "(unset: embedded PGlite)", description: "PostgreSQL connection string. Unset, Hookgate runs on PGlite in HOOKGATE_DATA_DIR." },
  },
  REDIS_URL: {
    schema: z
      .string()
      .regex(/^rediss?:\/\//, "must start with redis:// or rediss://")
      .optional(),
    secret: true,
    doc: { default: "(unset: in-process pub/sub)", description: "Redis for live subscriptions across gateway instances and shared rate limits. Unset, both stay inside one process." },
  },
  HOOKGATE_DATA_DIR: {
    schema: z.string().min(1).default("./data"),
    doc: { default: "./data", description: "Where embedded mode keeps its PGlite database and generated encryption key; one process at a time holds it (hookgate.sock)." },
  },
  HOOKGATE_ADMIN_TOKEN: {
    schema: z.string().min(24, "must be at least 24 characters").optional(),
    secret: true,
    doc: { default: "(unset: generated once)", description: "An admin token accepted as-is. Unset and with no stored admin token, one is generated at first start and printed once." },
  },
  HOOKGATE_ENCRYPTION_KEY: {
    schema: z
      .string()
      .regex(/^[A-Za-z0-9+/]{43}=$/, "must be 32 bytes in base64 (openssl rand -base64 32)")
      .optional(),
    secret: true,
    doc: { default: "(embedded: generated into the data dir)", description: "32-byte base64 key sealing webhook secrets and auth at rest. Required with DATABASE_URL; every process sharing the database needs the same key: one that does not open the stored secrets is refused at start (see The encryption key)." },
  },
  HOOKGATE_MAX_PAYLOAD_BYTES: {
    schema: positiveInt().default(256 * 1024),
    doc: { default: "262144", description: "Largest accepted event payload (JSON, in bytes)." },
  },
  HOOKGATE_MAX_PAGE_SIZE: {
    schema: positiveInt(1000).default(100),
    doc: { default: "100", description: "Largest perPage / first a list accepts." },
  },
  HOOKGATE_MAX_BATCH_SIZE: {
    schema: positiveInt(10000).default(500),
    doc: { default: "500", description: "Most events one publishEvents call accepts." },
  },
  HOOKGATE_MAX_QUERY_DEPTH: {
    schema: positiveInt(100).default(12),
    doc: { default: "12", description: "Deepest selection a GraphQL document may have." },
  },
  HOOKGATE_MAX_QUERY_COST: {
    schema: positiveInt().default(20_000),
    doc: { default: "20000", description: "Largest estimated cost of a document (graphql-armor's cost model)." },
  },
  HOOKGATE_MAX_QUERY_ALIASES: {
    schema: positiveInt(1000).default(30),
    doc: { default: "30", description: "Most aliases in one document." },
  },
  HOOKGATE_MAX_QUERY_TOKENS: {
    schema: positiveInt().default(5_000),
    doc: { default: "5000", description: "Most tokens in one document (variables are not counted)." },
  },
  HOOKGATE_MAX_BODY_BYTES: {
    schema: positiveInt().default(1024 * 1024),
    doc: {
      default: "1048576",
      description:
        "Largest HTTP request body (GraphQL query plus variables); a larger one is refused with 413 PAYLOAD_TOO_LARGE before it is parsed. Must leave room for one event of HOOKGATE_MAX_PAYLOAD_BYTES plus 16 KiB and for HOOKGATE_MAX_BATCH_SIZE events of 512 bytes; a batch's payloads together must fit in it.",
    },
  },
  HOOKGATE_INTROSPECTION: {
    schema: bool.default(true),
    doc: { default: "true", description: "Answer introspection (__schema, __type) on every transport; false refuses it with INTROSPECTION_DISABLED (GraphiQL then cannot load the schema)." },
  },
  HOOKGATE_METRICS: {
    schema: z.enum(["true", "false", "admin"], { message: "must be true, false or admin" }).default("true"),
    doc: { default: "true", description: "Serve Prometheus metrics on GET /metrics: true (open), admin (needs an admin bearer token), false (not served)." },
  },
  HOOKGATE_METRICS_PORT: {
    schema: wholeNumber.pipe(z.number().max(65535, "must be at most 65535")).optional(),
    doc: {
      default: "(unset: on the API port only)",
      description:
        "Also serve GET /metrics (and /healthz) on this port of HOOKGATE_HOST, in any role (0 picks a free one). The only way to scrape a worker-only process (HOOKGATE_ROLE=worker), which serves no API. HOOKGATE_METRICS=admin applies here too.",
    },
  },
  HOOKGATE_RATE_LIMIT_PUBLISH: {
    schema: wholeNumber.default(60_000),
    doc: { default: "60000", description: "Events one token may publish per minute, counted per event (a batch of 50 counts 50); 0: no limit. At least HOOKGATE_MAX_BATCH_SIZE." },
  },
  HOOKGATE_RATE_LIMIT_MUTATIONS: {
    schema: wholeNumber.default(600),
    doc: { default: "600", description: "Mutation fields one token may run per minute (an aliased batch of 15 counts 15); 0: no limit." },
  },
  HOOKGATE_RATE_LIMIT_CONNECTIONS: {
    schema: wholeNumber.default(60),
    doc: { default: "60", description: "New websocket connections, SSE subscriptions and SSE stream reservations (PUT /graphql/stream) one token (or client address) may open per minute; 0: no limit." },
  },
  HOOKGATE_RATE_LIMIT_QUERIES: {
    schema: wholeNumber.default(1_200),
    doc: { default: "1200", description: "Query root fields one token may run per minute (an aliased batch of 15 counts 15); 0: no limit." },
  },
  HOOKGATE_RATE_LIMIT_UNAUTHENTICATED: {
    schema: wholeNumber.default(600),
    doc: {
      default: "600",
      description:
        "Requests without a valid token (each answered 401 before its document is read, or the GraphiQL page) one client address may make per minute; past it 429 RATE_LIMITED; 0: no limit.",
    },
  },
  HOOKGATE_MAX_SUBSCRIPTIONS_PER_TOKEN: {
    schema: wholeNumber.default(200),
    doc: { default: "200", description: "Most live subscriptions one token may hold open at once on one gateway process, websocket and SSE together; 0: no limit." },
  },
  HOOKGATE_SSE_RESERVATION_TIMEOUT_MS: {
    schema: positiveInt().default(30_000),
    doc: {
      default: "30000",
      description:
        "How long a stream reserved on /graphql/stream (graphql-sse single connection mode, PUT) waits to be opened (GET) before it is dropped with its operations.",
    },
  },
  HOOKGATE_MAX_GRAPHQL_RESPONSE_BYTES: {
    schema: positiveInt().default(32 * 1024 * 1024),
    doc: {
      default: "33554432",
      description:
        "Largest GraphQL query or mutation result, counted while it is resolved (strings and JSON values); past it the operation stops with RESPONSE_TOO_LARGE. Leave room for a page of HOOKGATE_MAX_PAGE_SIZE events of HOOKGATE_MAX_PAYLOAD_BYTES (the defaults: 25 MiB).",
    },
  },
  HOOKGATE_MAX_SUBSCRIPTIONS_PER_CONNECTION: {
    schema: wholeNumber.default(100),
    doc: { default: "100", description: "Most subscriptions one websocket connection may hold at once; 0: no limit." },
  },
  HOOKGATE_REDIS_COMMAND_TIMEOUT_MS: {
    schema: positiveInt().default(1_000),
    doc: {
      default: "1000",
      description:
        "How long a command on the shared Redis command connection (rate limits, /metrics' Redis figures) may wait for its answer; past it the command fails and rate limits are counted in memory, as while Redis is down.",
    },
  },
  HOOKGATE_TRUSTED_PROXIES: {
    schema: addressList,
    doc: {
      default: "(unset: none)",
      description:
        "Reverse proxies (comma-separated addresses or CIDR ranges) whose X-Forwarded-For is believed: a request from one of them is counted under the rightmost address in X-Forwarded-For that is not itself a listed proxy. Unset, the TCP peer is the client.",
    },
  },
  HOOKGATE_HTTP_HEADERS_TIMEOUT_MS: {
    schema: positiveInt().default(10_000),
    doc: { default: "10000", description: "Time a client has, from connecting (or from its previous request), to send a request's headers; then 408 and the connection is closed." },
  },
  HOOKGATE_HTTP_REQUEST_TIMEOUT_MS: {
    schema: positiveInt().default(30_000),
    doc: {
      default: "30000",
      description: "Time a client has to send a whole request, headers and body (at least HOOKGATE_HTTP_HEADERS_TIMEOUT_MS). Responses are not bounded: SSE and websocket streams stay open.",
    },
  },
  HOOKGATE_HTTP_KEEP_ALIVE_TIMEOUT_MS: {
    schema: positiveInt().default(5_000),
    doc: { default: "5000", description: "How long an idle keep-alive connection stays open after a response." },
  },
  HOOKGATE_MIGRATE: {
    schema: z.enum(["auto", "off"], { message: "must be auto or off" }).default("off"),
    doc: {
      default: "off",
      description:
        "PostgreSQL only. off: a process whose migrations are pending refuses to start (run `hookgate migrate` first). auto: the first process to start applies them (advisory lock) while the others wait, then check again. Embedded mode (PGlite) always migrates at start.",
    },
  },
  HOOKGATE_MIGRATION_LOCK_TIMEOUT_MS: {
    schema: positiveInt().default(500),
    doc: {
      default: "500",
      description:
        "How long a migration statement waits for a table lock held by traffic before its migration is rolled back and tried again (10 retries, pauses doubling from 1 s up to 30 s). Traffic queues behind a waiting statement for at most this long.",
    },
  },
  HOOKGATE_REDIS_KEY_PREFIX: {
    schema: z.string().regex(/^[A-Za-z0-9:_.-]{1,64}$/, "must be 1 to 64 of A-Z a-z 0-9 : _ . -").default("hookgate:"),
    doc: { default: "hookgate:", description: "Prefix of every Redis key and pub/sub channel Hookgate uses (rate-limit counters, live events, live attempt logs), so installations can share one Redis: give each its own." },
  },
  HOOKGATE_ROLE: {
    schema: z.enum(["all", "api", "worker"]).default("all"),
    doc: { default: "all", description: "all: API and dispatcher in one process. api: API only. worker: dispatcher only (also `npm run worker`). api and worker need DATABASE_URL (PGlite is one process)." },
  },
  HOOKGATE_ALLOW_PRIVATE_TARGETS: {
    schema: bool.default(false),
    doc: { default: "false", description: "Allow webhook URLs on loopback, private, link-local, CGNAT, multicast and metadata addresses (SSRF protection off)." },
  },
  HOOKGATE_DELIVERY_TIMEOUT_MS: {
    schema: positiveInt().default(15_000),
    doc: { default: "15000", description: "Total time one delivery attempt may take, connect to last byte." },
  },
  HOOKGATE_CONNECT_TIMEOUT_MS: {
    schema: positiveInt().default(10_000),
    doc: { default: "10000", description: "Time to open the TCP/TLS connection of an attempt." },
  },
  HOOKGATE_MAX_RESPONSE_BYTES: {
    schema: positiveInt().default(64 * 1024),
    doc: { default: "65536", description: "Response body bytes kept in the attempt log; the rest is discarded." },
  },
  HOOKGATE_DISPATCH_BATCH: {
    schema: positiveInt(1000).default(200),
    doc: { default: "200", description: "Most deliveries a worker claims, and records, at once." },
  },
  HOOKGATE_DISPATCH_CONCURRENCY: {
    schema: positiveInt(10_000).default(200),
    doc: { default: "200", description: "HTTP calls one dispatcher process keeps in flight." },
  },
  HOOKGATE_MAX_IN_FLIGHT_PER_WEBHOOK: {
    schema: positiveInt(10_000).default(50),
    doc: {
      default: "50",
      description:
        "HTTP calls one webhook may have in flight from one dispatcher process. The process holds at most twice as many of one webhook's deliveries (at least HOOKGATE_DISPATCH_BATCH) and its claims pass over a webhook that has them, so one webhook's backlog (or a hanging receiver) never holds every slot of HOOKGATE_DISPATCH_CONCURRENCY.",
    },
  },
  HOOKGATE_MAX_REPLAY_DELIVERIES: {
    schema: positiveInt(1_000_000).default(1_000),
    doc: {
      default: "1000",
      description:
        "Most deliveries one replayWebhook call may queue; a larger replay queues nothing and answers BAD_USER_INPUT (field since). `hookgate replay` on the command line has no limit.",
    },
  },
  HOOKGATE_LEASE_SECONDS: {
    schema: positiveInt().default(60),
    doc: { default: "60", description: "How long a claimed delivery stays with its worker; after that another worker may take it (at-least-once). Keep it above the delivery timeout." },
  },
  HOOKGATE_POLL_MS: {
    schema: positiveInt().default(500),
    doc: { default: "500", description: "How often an idle dispatcher looks for due deliveries (publishes in the same process, or in any process over Redis, wake it at once)." },
  },
  HOOKGATE_DISABLE_AFTER_DAYS: {
    schema: z.string().trim().regex(/^\d+(\.\d+)?$/, "must be a number of days").transform(Number).default(5),
    doc: { default: "5", description: "Disable a webhook whose every attempt has failed for this many days (0: never)." },
  },
  HOOKGATE_DISABLE_AFTER_FAILURES: {
    schema: wholeNumber.default(0),
    doc: { default: "0", description: "Disable a webhook after this many failed attempts in a row (0: never)." },
  },
  HOOKGATE_FAILING_AFTER_FAILURES: {
    schema: wholeNumber.default(5),
    doc: {
      default: "5",
      description:
        "Publish hookgate.webhook.failing to a webhook's service when this many attempts in a row have failed (once per failure streak; a success starts a new one). 0: never.",
    },
  },
  HOOKGATE_RETENTION_DAYS: {
    schema: wholeNumber.pipe(z.number().max(36_500, "must be at most 36500")).default(30),
    doc: {
      default: "30",
      description:
        "Days events are kept, with their deliveries and attempt log; older ones are deleted in the background (an event with a delivery still waiting, or replayed inside the window, stays). Idempotency keys are remembered as long. 0: keep forever.",
    },
  },
  HOOKGATE_ATTEMPT_BODY_RETENTION_DAYS: {
    schema: wholeNumber.pipe(z.number().max(36_500, "must be at most 36500")).default(7),
    doc: {
      default: "7",
      description:
        "Days the request and response bodies of logged attempts are kept; after that they are cleared (requestBody empty, responseBody null) and the rest of the attempt stays. 0: keep them as long as the attempt.",
    },
  },
  HOOKGATE_RETENTION_INTERVAL_MS: {
    schema: positiveInt().default(60_000),
    doc: { default: "60000", description: "How often a dispatcher process prunes what is past the retention windows (one process at a time does it)." },
  },
  HOOKGATE_LIVE_BUFFER: {
    schema: positiveInt(1_000_000).default(1_000),
    doc: { default: "1000", description: "Events a live subscription may have waiting; past that it is ended with SLOW_CONSUMER (resume with after)." },
  },
  HOOKGATE_IDLE_IN_TRANSACTION_TIMEOUT_MS: {
    schema: positiveInt().default(30_000),
    doc: {
      default: "30000",
      description:
        "PostgreSQL: ends a Hookgate session left idle inside a transaction this long (idle_in_transaction_session_timeout). An open transaction anywhere on the server holds back every live feed.",
    },
  },
  HOOKGATE_LIVE_POLL_MS: {
    schema: positiveInt().default(1_000),
    doc: { default: "1000", description: "While it has live subscribers, how often a gateway reads the store for events Redis did not bring (outage, lost message)." },
  },
  HOOKGATE_PULL_VISIBILITY_SECONDS: {
    schema: positiveInt().default(60),
    doc: {
      default: "60",
      description:
        "Pull queue: how long received notifications stay with their consumer unacknowledged; after that they are handed out again (with new receipts), and the consumer may receive again.",
    },
  },
  HOOKGATE_LOG_LEVEL: {
    schema: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
    doc: { default: "info", description: "pino log level." },
  },
  HOOKGATE_GRAPHIQL: {
    schema: bool.default(true),
    doc: { default: "true", description: "Serve GraphiQL on GET /graphql." },
  },
  HOOKGATE_CONSOLE_FRAME_ANCESTORS: {
    schema: frameAncestors,
    doc: {
      default: "'none'",
      description:
        "Who may embed the console (/console) in a frame: a comma-separated list of origins (https://app.example.com, https://*.example.com) or 'self', sent as Content-Security-Policy frame-ancestors. 'none': no one.",
    },
  },
  HOOKGATE_PUBLIC_URL: {
    schema: publicUrl,
    doc: {
      default: "(unset: the request's Host)",
      description:
        "The gateway's address as browsers reach it (https://hooks.example.com), for the console links createPortalSession returns; unset, they are built from the request's Host header.",
    },
  },
} as const;

type Settings = typeof settings;
export type Config = { [K in keyof Settings]: z.output<Settings[K]["schema"]> };

export const settingDocs: readonly SettingDoc[] = Object.entries(settings).map(([env, s]) => ({
  env,
  ...s.doc,
}));

export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Reads and validates the settings once; the first bad value stops with one line naming it. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const file = env.HOOKGATE_CONFIG_FILE ? readConfigFile(env.HOOKGATE_CONFIG_FILE) : {};
  const out: Record<string, unknown> = {};
  for (const [key, setting] of Object.entries(settings)) {
    const fromEnv = env[key] === "" ? undefined : env[key];
    const raw = fromEnv ?? file[key];
    const parsed = (setting.schema as z.ZodType).safeParse(raw);
    if (!parsed.success) {
      const why = parsed.error.issues[0]?.message ?? "is invalid";
      // Errors end up in terminals and CI logs: never echo a token, key or URL with credentials.
      const got = "secret" in setting ? `${raw?.length ?? 0} characters, not shown` : JSON.stringify(raw);
      const where = fromEnv === undefined && raw !== undefined ? ` in ${env.HOOKGATE_CONFIG_FILE}` : "";
      throw new ConfigError(`${key} ${why} (got ${got})${where}`);
    }
    out[key] = parsed.data;
  }
  // PORT is the platform convention; HOOKGATE_PORT, when given (environment or file), wins.
  const portGiven = (env.HOOKGATE_PORT ?? "") !== "" || file.HOOKGATE_PORT !== undefined;
  if (!portGiven && out.PORT !== undefined) out.HOOKGATE_PORT = out.PORT;
  const config = out as Config;
  if (config.DATABASE_URL && !config.HOOKGATE_ENCRYPTION_KEY) {
    throw new ConfigError(
      "HOOKGATE_ENCRYPTION_KEY is required with DATABASE_URL (every process sharing the database needs the same key; create one with: openssl rand -base64 32)",
    );
  }
  if (config.HOOKGATE_METRICS_PORT !== undefined && config.HOOKGATE_METRICS === "false") {
    throw new ConfigError("HOOKGATE_METRICS_PORT is set but HOOKGATE_METRICS=false turns metrics off; unset one of them");
  }
  const bodyNeeded = Math.max(config.HOOKGATE_MAX_PAYLOAD_BYTES + 16 * 1024, config.HOOKGATE_MAX_BATCH_SIZE * 512);
  if (config.HOOKGATE_MAX_BODY_BYTES < bodyNeeded) {
    // A body limit below these would refuse requests the other limits promise to accept.
    throw new ConfigError(
      `HOOKGATE_MAX_BODY_BYTES must be at least ${bodyNeeded}: room for one event of HOOKGATE_MAX_PAYLOAD_BYTES plus 16 KiB, and for HOOKGATE_MAX_BATCH_SIZE events of 512 bytes (got ${config.HOOKGATE_MAX_BODY_BYTES})`,
    );
  }
  if (config.HOOKGATE_RATE_LIMIT_PUBLISH && config.HOOKGATE_RATE_LIMIT_PUBLISH < config.HOOKGATE_MAX_BATCH_SIZE) {
    // A full batch would be refused every minute, whatever the client waits.
    throw new ConfigError(
      `HOOKGATE_RATE_LIMIT_PUBLISH must be 0 or at least HOOKGATE_MAX_BATCH_SIZE (${config.HOOKGATE_MAX_BATCH_SIZE}) (got ${config.HOOKGATE_RATE_LIMIT_PUBLISH})`,
    );
  }
  if (config.HOOKGATE_HTTP_REQUEST_TIMEOUT_MS < config.HOOKGATE_HTTP_HEADERS_TIMEOUT_MS) {
    throw new ConfigError(
      `HOOKGATE_HTTP_REQUEST_TIMEOUT_MS must be at least HOOKGATE_HTTP_HEADERS_TIMEOUT_MS (${config.HOOKGATE_HTTP_HEADERS_TIMEOUT_MS}) (got ${config.HOOKGATE_HTTP_REQUEST_TIMEOUT_MS})`,
    );
  }
  const attemptMs = config.HOOKGATE_DELIVERY_TIMEOUT_MS + config.HOOKGATE_CONNECT_TIMEOUT_MS + 1_000;
  if (config.HOOKGATE_LEASE_SECONDS * 1000 <= attemptMs) {
    // A lease that can end while its attempt is still running lets another worker send it again.
    throw new ConfigError(
      `HOOKGATE_LEASE_SECONDS must be longer than an attempt can take (HOOKGATE_DELIVERY_TIMEOUT_MS + HOOKGATE_CONNECT_TIMEOUT_MS + 1 s = ${Math.ceil(attemptMs / 1000)} s)`,
    );
  }
  return config;
}

/** HOOKGATE_CONFIG_FILE: a JSON object of settings by name, each value as the environment would give it. */
function readConfigFile(path: string): Record<string, string> {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new ConfigError(`HOOKGATE_CONFIG_FILE cannot be read: ${(error as Error).message}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`HOOKGATE_CONFIG_FILE ${path} is not valid JSON: ${(error as Error).message.split("\n")[0]}`);
  }
  if (typeof data !== "object" || data === null || Array.isArray(data)) {
    throw new ConfigError(`HOOKGATE_CONFIG_FILE ${path} must hold a JSON object of settings by name`);
  }
  const values: Record<string, string> = {};
  for (const [key, value] of Object.entries(data)) {
    if (!(key in settings) || key === "HOOKGATE_CONFIG_FILE") {
      throw new ConfigError(`HOOKGATE_CONFIG_FILE ${path} names an unknown setting ${JSON.stringify(key)}`);
    }
    if (value === null || value === "") continue; // unset, as an empty variable is
    if (!["string", "number", "boolean"].includes(typeof value)) {
      throw new ConfigError(`${key} must be a string, number or boolean in ${path}`);
    }
    values[key] = String(value);
  }
  return values;
}
