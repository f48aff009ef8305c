import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { PrincipalResolver } from "../auth/principal.js";
import type { Config } from "../config.js";
import type { Logger } from "../log.js";
import type { GatewayMetrics } from "../metrics/metrics.js";

export interface MetricsEndpointDeps {
  readonly config: Pick<Config, "HOOKGATE_METRICS">;
  readonly metrics: GatewayMetrics;
  readonly principals: PrincipalResolver;
}

/** GET /metrics: Prometheus text, behind an admin token with HOOKGATE_METRICS=admin. The one rule for both ports. */
export async function serveMetrics(deps: MetricsEndpointDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method !== "GET" && req.method !== "HEAD") {
    return void res.writeHead(405, { allow: "GET", "content-type": "text/plain" }).end("use GET\n");
  }
  if (deps.config.HOOKGATE_METRICS === "admin") {
    const principal = await deps.principals.resolve(req.headers.authorization).catch(() => undefined);
    if (principal?.kind !== "admin") {
      return void res
        .writeHead(401, { "content-type": "text/plain", "www-authenticate": "Bearer" })
        .end("metrics need an admin token (HOOKGATE_METRICS=admin)\n");
    }
  }
  const { contentType, body } = await deps.metrics.render();
  res.writeHead(200, { "content-type": contentType }).end(req.method === "HEAD" ? undefined : body);
}

/**
 * The HOOKGATE_METRICS_PORT server: /metrics and /healthz only. It is how a worker-only process
 * (no API, no HTTP otherwise) is scraped, and lets any process keep metrics off its API port.
 */
export function createMetricsServer(deps: MetricsEndpointDeps, logger: Logger): Server {
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (path === "/metrics") {
      serveMetrics(deps, req, res).catch((error: unknown) => {
        logger.error({ err: error }, "metrics request failed");
        if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain" });
        res.end();
      });
    } else if (path === "/healthz") {
      res.writeHead(200, { "content-type": "text/plain" }).end("ok\n");
    } else {
      res.writeHead(404, { "content-type": "text/plain" }).end("this port serves /metrics and /healthz only\n");
    }
  });
  // Scrapes are short: an idle or half-sent request does not hold the socket.
  server.requestTimeout = 10_000;
  server.headersTimeout = 10_000;
  return server;
}
