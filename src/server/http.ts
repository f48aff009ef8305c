import type { IncomingMessage, ServerResponse } from "node:http";
import { performance } from "node:perf_hooks";
import type { PrincipalResolver } from "../auth/principal.js";
import type { GatewayServices } from "../schema/context.js";
import { serveMetrics } from "./metrics-server.js";
import { authenticateRequest } from "./authenticate.js";
import { answerTooLarge, readBody, TOO_LARGE } from "./body.js";
import type { ClientAddress } from "./client-address.js";
import { createConsoleHandler } from "./console.js";
import { requestIdFrom, withRequestLogger } from "./request-log.js";
import type { GatewayYoga } from "./yoga.js";
import { createRest } from "./rest/index.js";
import type { RestRouter } from "./rest/router.js";

export interface HttpDeps {
  readonly yoga: GatewayYoga;
  readonly services: GatewayServices;
  readonly principals: PrincipalResolver;
  readonly clientAddress: ClientAddress;
  readonly readiness: () => Promise<{ ok: boolean; detail: Record<string, unknown> }>;
}

/**
 * The gateway's HTTP entry: gives every request an id (the client's x-request-id when
 * well-formed, else a new one; echoed in the response and bound to its log lines), authenticates
 * GraphQL requests before reading their body (authenticate.ts), bounds the body to
 * HOOKGATE_MAX_BODY_BYTES, and routes /healthz, /readyz, /metrics, /console, the REST routes
 * (rest/: Basalam's and Thulium's APIs, /openapi.json) and the rest (GraphQL).
 */
export function createHttpHandler(deps: HttpDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const { services } = deps;
  const rest = createRest(deps);
  return (req, res) => {
    const started = performance.now();
    const requestId = requestIdFrom(req.headers["x-request-id"]);
    req.headers["x-request-id"] = requestId;
    res.setHeader("x-request-id", requestId);
    const logger = services.logger.child({ requestId });
    // The path only: a query string can carry a whole GraphQL document and its variables.
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    res.once("finish", () => {
      services.metrics.httpResponse(res.statusCode);
      const level = res.statusCode >= 500 ? "warn" : res.statusCode >= 400 ? "info" : "debug";
      // A REST route may carry a token in its path (Green API): logged as ***.
      logger[level]({ method: req.method, path: rest.redact(path), status: res.statusCode, ms: Math.round(performance.now() - started) }, "request");
    });
    withRequestLogger(logger, () => {
      route(deps, rest, req, res, path).catch((error: unknown) => {
        logger.error({ err: error }, "request failed");
        if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain" });
        res.end();
      });
    });
  };
}

async function route(deps: HttpDeps, rest: RestRouter, req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
  if (path === "/healthz") return void res.writeHead(200, { "content-type": "text/plain" }).end("ok\n");
  if (path === "/readyz") {
    const { ok, detail } = await deps.readiness();
    return void res.writeHead(ok ? 200 : 503, { "content-type": "application/json" }).end(JSON.stringify(detail) + "\n");
  }
  if (path === "/metrics" && deps.services.config.HOOKGATE_METRICS !== "false") {
    return serveMetrics({ config: deps.services.config, metrics: deps.services.metrics, principals: deps.principals }, req, res);
  }
  // The console's pages are public (they hold no data); everything it shows comes through the API.
  if (path === "/console" || path?.startsWith("/console/")) {
    return consolePages.serve(req, res, path, deps.services.config.HOOKGATE_CONSOLE_FRAME_ANCESTORS);
  }
  // The REST routes (src/server/rest/): each authenticates its own way, then runs GraphQL operations.
  if (path !== "/graphql" && (await rest.handle(req, res, path))) return;
  // Everything else goes to yoga (which also answers /graphql/ and other spellings): token first.
  if (!(await authenticateRequest(req, res, deps))) return;
  if (req.method !== "GET" && req.method !== "HEAD") {
    const body = await readBody(req, deps.services.config.HOOKGATE_MAX_BODY_BYTES);
    if (body === TOO_LARGE) return refuseTooLarge(req, res, deps.services.config.HOOKGATE_MAX_BODY_BYTES);
    // yoga (whatwg-node) takes an already-read body from req.body instead of the spent stream.
    if (body.length) (req as IncomingMessage & { body?: Uint8Array }).body = body;
  }
  await deps.yoga.handle(req, res);
}

/** The web console (built files, read once); the same for every gateway of the process. */
const consolePages = createConsoleHandler();

/** 413 with a GraphQL-shaped body; the connection is closed so the rest of the body is not read. */
function refuseTooLarge(req: IncomingMessage, res: ServerResponse, limit: number): void {
  const body = JSON.stringify({
    errors: [
      {
        message: `the request body is larger than ${limit} bytes (HOOKGATE_MAX_BODY_BYTES)`,
        extensions: { code: "PAYLOAD_TOO_LARGE", maxBytes: limit },
      },
    ],
  });
  answerTooLarge(req, res, "application/json; charset=utf-8", body);
}
