import { ConfigError, loadConfig } from "./config.js";
import { createLogger } from "./log.js";
import { startGateway } from "./server/gateway.js";

/** `npm start`: the API (and, once configured, the dispatcher) in one process. */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`hookgate: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const logger = createLogger(config.HOOKGATE_LOG_LEVEL);
  const gateway = await startGateway({ config, logger });
  process.stdout.write(`Hookgate is up: GraphQL API and GraphiQL at ${gateway.url}\n`);
  const stop = (signal: string) => {
    logger.info({ signal }, "shutting down");
    void gateway.close().then(() => process.exit(0));
  };
  process.once("SIGTERM", () => stop("SIGTERM"));
  process.once("SIGINT", () => stop("SIGINT"));
}

void main();
