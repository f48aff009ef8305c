import { randomBytes } from "node:crypto";
import { loadConfig, type Config } from "../../src/config.js";
import type { Clock } from "../../src/clock.js";
import type { ResolvedAddress, Resolver } from "../../src/dispatcher/target-guard.js";
import { startGateway, type Gateway } from "../../src/server/gateway.js";
import { createLogger, type Logger } from "../../src/log.js";
import { openTestStore, type TestStore } from "./store.js";
import { GraphQLClient } from "./client.js";

export interface TestGateway {
  readonly gateway: Gateway;
  readonly store: TestStore;
  readonly config: Config;
  /** A client with the admin token. */
  readonly admin: GraphQLClient;
  /** A client with the given token, or none. */
  as(token?: string): GraphQLClient;
  close(): Promise<void>;
}

/**
 * DNS for tests: a fixed table, so no lookup ever leaves the machine. Names not in it fail
 * as unknown hosts do (ENOTFOUND).
 */
export function tableResolver(table: Record<string, string[]> = {}): Resolver {
  // The table is read at every lookup, so a test can change an answer (DNS rebinding).
  return async (hostname) => {
    const name = hostname.toLowerCase();
    const addresses = table[name] ?? (name === "localhost" ? ["127.0.0.1"] : undefined);
    if (!addresses) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: "ENOTFOUND" });
    return addresses.map((address): ResolvedAddress => ({ address, family: address.includes(":") ? 6 : 4 }));
  };
}

export interface TestGatewayOptions {
  readonly env?: Record<string, string>;
  readonly clock?: Clock;
  readonly resolver?: Resolver;
  readonly random?: () => number;
  /** Where log lines go (tests that read the logs); defaults to HOOKGATE_TEST_LOG_LEVEL on stdout. */
  readonly logger?: Logger;
}

/**
 * A real gateway on 127.0.0.1 (a free port) over a fresh database of this project's store.
 * Private targets are allowed by default so the dispatcher can reach loopback receivers;
 * the SSRF tests turn that off.
 */
export async function startTestGateway(options: TestGatewayOptions | Record<string, string> = {}): Promise<TestGateway> {
  const opts: TestGatewayOptions = "env" in options || "clock" in options || "resolver" in options || "random" in options || "logger" in options
    ? (options as TestGatewayOptions)
    : { env: options as Record<string, string> };
  const store = await openTestStore();
  const adminToken = `hg_admin_${randomBytes(24).toString("base64url")}`;
  const config = loadConfig({
    HOOKGATE_PORT: "0",
    HOOKGATE_HOST: "127.0.0.1",
    HOOKGATE_ADMIN_TOKEN: adminToken,
    HOOKGATE_LOG_LEVEL: process.env.HOOKGATE_TEST_LOG_LEVEL ?? "silent",
    HOOKGATE_ENCRYPTION_KEY: randomBytes(32).toString("base64"),
    HOOKGATE_DATA_DIR: "memory://",
    HOOKGATE_ALLOW_PRIVATE_TARGETS: "true",
    HOOKGATE_POLL_MS: "50",
    // Tests read the store through the API far faster than a client would; the limit's own tests set it.
    HOOKGATE_RATE_LIMIT_QUERIES: "0",
    // A fresh test database: the gateway applies the migrations, as `hookgate migrate` would.
    HOOKGATE_MIGRATE: "auto",
    ...(store.url ? { DATABASE_URL: store.url } : {}),
    ...opts.env,
  });
  const gateway = await startGateway({
    config,
    database: store.database,
    logger: opts.logger ?? createLogger(config.HOOKGATE_LOG_LEVEL),
    resolver: opts.resolver ?? tableResolver(),
    ...(opts.clock ? { clock: opts.clock } : {}),
    ...(opts.random ? { random: opts.random } : {}),
  });
  const url = gateway.url!;
  const as = (token?: string) => new GraphQLClient(url, token);
  return {
    gateway,
    store,
    config,
    admin: as(adminToken),
    as,
    close: async () => {
      await gateway.close();
      await store.close();
    },
  };
}
