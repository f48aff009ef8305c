import { ConfigError, loadConfig, type Config } from "./config.js";
import { createLogger } from "./log.js";
import { createAdminToken } from "./server/admin-token.js";
import { startGateway } from "./server/gateway.js";
import { openDatabase } from "./store/database.js";
import { migrate } from "./store/migrator.js";

const USAGE = `Usage: hookgate <command>

  start     the GraphQL API and the dispatcher (HOOKGATE_ROLE picks: all, api, worker)
  worker    the dispatcher only, for scaling out deliveries
  migrate   apply database migrations and exit
  token     create an admin token and print it once (optional label as next argument)
`;

async function main(argv: string[]): Promise<number> {
  const [command = "start", ...rest] = argv;
  if (command === "help" || command === "--help" || command === "-h") {
    process.stdout.write(USAGE);
    return 0;
  }
  let config: Config;
  try {
    config = loadConfig(command === "worker" ? { ...process.env, HOOKGATE_ROLE: "worker" } : process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`hookgate: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
  switch (command) {
    case "start":
    case "worker":
      return serve(config);
    case "migrate":
      return runMigrate(config);
    case "token":
      return runToken(config, rest[0] ?? "created by hookgate token");
    default:
      process.stderr.write(`hookgate: unknown command "${command}"\n\n${USAGE}`);
      return 2;
  }
}

async function serve(config: Config): Promise<number> {
  const logger = createLogger(config.HOOKGATE_LOG_LEVEL);
  // Listen for signals before starting, so a SIGTERM during start-up also shuts down cleanly.
  const signalled = new Promise<string>((resolve) => {
    process.once("SIGTERM", () => resolve("SIGTERM"));
    process.once("SIGINT", () => resolve("SIGINT"));
  });
  const gateway = await startGateway({ config, logger });
  if (gateway.url) process.stdout.write(`Hookgate is up: GraphQL API and GraphiQL at ${gateway.url}\n`);
  else process.stdout.write("Hookgate dispatcher is running\n");
  const signal = await signalled;
  logger.info({ signal }, "stopping: no new claims; in-flight deliveries finish or are given back");
  await gateway.close();
  return 0;
}

async function runMigrate(config: Config): Promise<number> {
  const database = await openDatabase({ url: config.DATABASE_URL, dataDir: config.HOOKGATE_DATA_DIR });
  try {
    const report = await migrate(database.sql, (line) => process.stdout.write(`${line}\n`));
    process.stdout.write(
      report.applied.length
        ? `applied ${report.applied.length} migration(s); ${report.alreadyApplied.length} were already applied\n`
        : `database is up to date (${report.alreadyApplied.length} migrations applied)\n`,
    );
    return 0;
  } finally {
    await database.close();
  }
}

async function runToken(config: Config, label: string): Promise<number> {
  const database = await openDatabase({ url: config.DATABASE_URL, dataDir: config.HOOKGATE_DATA_DIR });
  try {
    await migrate(database.sql);
    const token = await createAdminToken(database, label);
    process.stdout.write(`${token}\n`);
    process.stderr.write("This admin token is shown only once; only its hash is stored.\n");
    return 0;
  } finally {
    await database.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`hookgate: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
