import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createPrincipalResolver } from "../auth/principal.js";
import type { Config } from "../config.js";
import { createSecretBox, resolveEncryptionKey } from "../crypto/secret-box.js";
import { createLogger, type Logger } from "../log.js";
import { createPublisher } from "../publishing/publisher.js";
import type { GatewayServices } from "../schema/context.js";
import { openDatabase, type Database } from "../store/database.js";
import { migrate, pendingMigrations } from "../store/migrator.js";
import { ensureAdminToken } from "./admin-token.js";
import { createGatewayYoga } from "./yoga.js";

export interface GatewayOptions {
  readonly config: Config;
  readonly logger?: Logger;
  /** An open database to use instead of the one the config names (tests share one). */
  readonly database?: Database;
  /** Called with an admin token generated at first start; defaults to printing it to stdout. */
  readonly onAdminTokenCreated?: (token: string) => void;
}

export interface Gateway {
  readonly url: string;
  readonly port: number;
  readonly database: Database;
  readonly services: GatewayServices;
  close(): Promise<void>;
}

/** Opens the store, applies migrations, and serves the GraphQL API, GraphiQL and health checks. */
export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const { config } = options;
  const logger = options.logger ?? createLogger(config.HOOKGATE_LOG_LEVEL);
  const ownsDatabase = !options.database;
  const database =
    options.database ?? (await openDatabase({ url: config.DATABASE_URL, dataDir: config.HOOKGATE_DATA_DIR }));

  const report = await migrate(database.sql, (line) => logger.info(line));
  if (report.applied.length) logger.info({ applied: report.applied }, "migrations applied");
  const adminToken = await ensureAdminToken(database, config.HOOKGATE_ADMIN_TOKEN);
  if (adminToken) (options.onAdminTokenCreated ?? printAdminToken)(adminToken);

  const secrets = createSecretBox(
    resolveEncryptionKey(config.HOOKGATE_ENCRYPTION_KEY, config.DATABASE_URL ? undefined : config.HOOKGATE_DATA_DIR),
  );
  const publisher = createPublisher(database.prisma, config.HOOKGATE_MAX_PAYLOAD_BYTES);
  const services: GatewayServices = { prisma: database.prisma, config, secrets, publisher, logger };
  const yoga = createGatewayYoga(services, createPrincipalResolver(database.prisma, config.HOOKGATE_ADMIN_TOKEN));

  const server = createServer((req, res) => {
    if (req.url === "/healthz") return void res.writeHead(200, { "content-type": "text/plain" }).end("ok\n");
    if (req.url === "/readyz") {
      return void readiness(database).then(({ ok, detail }) => {
        res.writeHead(ok ? 200 : 503, { "content-type": "application/json" }).end(JSON.stringify(detail) + "\n");
      });
    }
    void yoga.handle(req, res);
  });
  await listen(server, config.HOOKGATE_PORT, config.HOOKGATE_HOST);
  const port = (server.address() as AddressInfo).port;
  const host = config.HOOKGATE_HOST.includes(":") ? `[${config.HOOKGATE_HOST}]` : config.HOOKGATE_HOST;
  const url = `http://${host}:${port}/graphql`;
  logger.info({ url, store: database.kind }, "gateway listening");

  let closed: Promise<void> | undefined;
  return {
    url,
    port,
    database,
    services,
    close: () =>
      (closed ??= (async () => {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        if (ownsDatabase) await database.close();
      })()),
  };
}

async function readiness(database: Database): Promise<{ ok: boolean; detail: Record<string, unknown> }> {
  try {
    const pending = await pendingMigrations(database.sql);
    const ok = pending.length === 0;
    return { ok, detail: { database: "ok", migrations: ok ? "applied" : { pending } } };
  } catch (error) {
    return { ok: false, detail: { database: (error as Error).message } };
  }
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
}

function printAdminToken(token: string): void {
  process.stdout.write(
    [
      "",
      "  Hookgate created an admin token. It is shown only this once; store it now:",
      "",
      `    ${token}`,
      "",
      "  Send it as: Authorization: Bearer <token>",
      "",
    ].join("\n") + "\n",
  );
}
