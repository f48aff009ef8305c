import { randomBytes } from "node:crypto";
import { loadConfig, type Config } from "../../src/config.js";
import { startGateway, type Gateway } from "../../src/server/gateway.js";
import { createLogger } from "../../src/log.js";
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

/** A real gateway on 127.0.0.1 (a free port) over a fresh database of this project's store. */
export async function startTestGateway(env: Record<string, string> = {}): Promise<TestGateway> {
  const store = await openTestStore();
  const adminToken = `hg_admin_${randomBytes(24).toString("base64url")}`;
  const config = loadConfig({
    HOOKGATE_PORT: "0",
    HOOKGATE_HOST: "127.0.0.1",
    HOOKGATE_ADMIN_TOKEN: adminToken,
    HOOKGATE_LOG_LEVEL: process.env.HOOKGATE_TEST_LOG_LEVEL ?? "silent",
    HOOKGATE_ENCRYPTION_KEY: randomBytes(32).toString("base64"),
    HOOKGATE_DATA_DIR: "memory://",
    ...(store.url ? { DATABASE_URL: store.url } : {}),
    ...env,
  });
  const gateway = await startGateway({ config, database: store.database, logger: createLogger(config.HOOKGATE_LOG_LEVEL) });
  const as = (token?: string) => new GraphQLClient(gateway.url, token);
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
