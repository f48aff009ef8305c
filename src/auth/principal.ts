import { hashToken, tokenKind } from "./tokens.js";
import type { PrismaClient } from "../store/database.js";

/** Who a request is: resolved once per request or websocket connection from its bearer token. */
export type Principal =
  | { readonly kind: "admin" }
  | { readonly kind: "service"; readonly serviceId: number }
  | { readonly kind: "customer"; readonly customerId: number };

export class InvalidTokenError extends Error {
  override name = "InvalidTokenError";
}

export interface PrincipalResolver {
  /** undefined for no header; throws InvalidTokenError for a token that is not valid. */
  resolve(authorization: string | null | undefined): Promise<Principal | undefined>;
}

export function createPrincipalResolver(prisma: PrismaClient, adminTokenFromEnv: string | undefined): PrincipalResolver {
  const envAdminHash = adminTokenFromEnv ? hashToken(adminTokenFromEnv) : undefined;
  return {
    async resolve(authorization) {
      if (!authorization) return undefined;
      const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
      if (!match) throw new InvalidTokenError("Authorization must be 'Bearer <token>'");
      const token = match[1]!;
      const hash = hashToken(token);
      switch (tokenKind(token)) {
        case "admin":
          if (hash === envAdminHash) return { kind: "admin" };
          if (await prisma.adminToken.findUnique({ where: { tokenHash: hash }, select: { id: true } })) {
            return { kind: "admin" };
          }
          break;
        case "service": {
          const service = await prisma.service.findUnique({ where: { tokenHash: hash }, select: { id: true } });
          if (service) return { kind: "service", serviceId: service.id };
          break;
        }
        case "customer": {
          const customer = await prisma.customer.findUnique({ where: { tokenHash: hash }, select: { id: true } });
          if (customer) return { kind: "customer", customerId: customer.id };
          break;
        }
        default:
          // An admin token given in HOOKGATE_ADMIN_TOKEN may have any shape.
          if (hash === envAdminHash) return { kind: "admin" };
      }
      throw new InvalidTokenError("the bearer token is not valid");
    },
  };
}
