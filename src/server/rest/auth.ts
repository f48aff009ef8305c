import type { IncomingMessage } from "node:http";
import { InvalidTokenError, type PrincipalResolver } from "../../auth/principal.js";
import { rateLimitKey } from "../../auth/rate-limits.js";
import type { RestAuth, RestCaller } from "./route.js";

// The ways a REST caller authenticates. Every one ends in the same token lookup as GraphQL
// (PrincipalResolver) and the same rate-limit key (a hash of the token), so a token is one caller
// with one allowance whichever transport or header carries it.

/** A Hookgate API token, resolved as `Authorization: Bearer <token>` would be. */
async function asBearer(token: string, principals: PrincipalResolver): Promise<RestCaller> {
  const authorization = `Bearer ${token}`;
  const principal = await principals.resolve(authorization);
  if (!principal) throw new InvalidTokenError("the token is not valid");
  return { principal, rateLimitKey: rateLimitKey(authorization, undefined) };
}

/** `Authorization: Bearer <token>`, exactly as on /graphql. */
export const bearerAuth: RestAuth = {
  required: true,
  scheme: { name: "bearerAuth", definition: { type: "http", scheme: "bearer", description: "A Hookgate API token (admin, service or customer)." } },
  challenge: "Bearer",
  async authenticate(req, _params, principals) {
    const authorization = req.headers.authorization;
    const principal = await principals.resolve(authorization);
    return principal ? { principal, rateLimitKey: rateLimitKey(authorization, undefined) } : undefined;
  },
};

/**
 * HTTP Basic whose password is a Hookgate API token (the user name is not checked: clients that
 * need one may send anything). A Bearer header is taken too, so one client may use either.
 */
export function basicTokenAuth(description: string): RestAuth {
  return {
    required: true,
    scheme: { name: "basicAuth", definition: { type: "http", scheme: "basic", description } },
    challenge: 'Basic realm="hookgate", charset="UTF-8"',
    async authenticate(req, params, principals) {
      const header = req.headers.authorization;
      if (!header) return undefined;
      const basic = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
      if (!basic) return bearerAuth.authenticate(req, params, principals);
      const decoded = Buffer.from(basic[1]!, "base64").toString("utf8");
      const colon = decoded.indexOf(":");
      if (colon < 0) throw new InvalidTokenError("HTTP Basic credentials must be user:password");
      return asBearer(decoded.slice(colon + 1), principals);
    },
  };
}

/**
 * A token carried in a path parameter (Green API's /waInstance{id}/method/{token}). The parameter
 * is redacted from every log line of the request.
 */
export function pathTokenAuth(param: string): RestAuth {
  return {
    required: true,
    // OpenAPI has no security scheme for a path segment; the route's params schema documents it.
    secretParams: [param],
    async authenticate(_req: IncomingMessage, params, principals) {
      const token = params[param];
      return token ? asBearer(token, principals) : undefined;
    },
  };
}

/** No credentials (the OpenAPI document itself). */
export const publicRoute: RestAuth = {
  required: false,
  async authenticate() {
    return undefined;
  },
};
