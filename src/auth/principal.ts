import { hashToken, tokenKind } from "./tokens.js";
import type { Clock } from "../clock.js";
import type { PrismaClient } from "../store/database.js";

/**
 * Who a request is: resolved once per request or websocket connection from its bearer token.
 * Service and customer principals carry the id of their row in api_tokens, so open streams can
 * be ended when that token is revoked.
 */
export type Principal =
  /** tokenId and expiresAt: an admin's own portal session (an api_tokens row with no owner). */
  | { readonly kind: "admin"; readonly tokenId?: number; readonly expiresAt?: Date }
  | { readonly kind: "service"; readonly serviceId: number; readonly tokenId?: number; readonly expiresAt?: Date }
  | {
      readonly kind: "customer";
      readonly customerId: number;
      readonly tokenId?: number;
      readonly expiresAt?: Date;
      /** A portal session a service minted: the customer sees only what concerns this service. */
      readonly scopeServiceId?: number;
    };

/** A portal session: a token that expires (minted by createPortalSession). */
export function isSession(p: Principal): boolean {
  return p.expiresAt !== undefined;
}

export class InvalidTokenError extends Error {
  override name = "InvalidTokenError";
}

/** A portal session past its expiry: refused like any invalid token, with a message saying why. */
export class ExpiredSessionError extends InvalidTokenError {
  override name = "ExpiredSessionError";
  constructor(readonly expiresAt: Date) {
    super(`the session expired at ${expiresAt.toISOString()}; open a new portal link`);
  }
}

export interface PrincipalResolver {
  /** undefined for no header; throws InvalidTokenError for a token that is not valid. */
  resolve(authorization: string | null | undefined): Promise<Principal | undefined>;
}

/** last_used_at is written at most this often per token, so authentication adds no write per request. */
export const LAST_USED_RESOLUTION_MS = 60_000;

/** Marks an old-column token hash as revoked: never a SHA-256 hex, so it matches no token. */
export const REVOKED_PREFIX = "revoked:";

/**
 * Copies a token still only in the old column (services.token_hash / customers.token_hash:
 * written by the previous release, or not yet reached by the backfill) into api_tokens, as
 * backfill.sql does for every row. Idempotent.
 */
export async function adoptLegacyToken(
  prisma: PrismaClient,
  owner: { serviceId: number } | { customerId: number },
  tokenHash: string,
): Promise<number> {
  if (tokenHash.startsWith(REVOKED_PREFIX)) throw new Error("a revoked token cannot be adopted");
  const data = { ...owner, label: "initial", tokenHash };
  const row = await prisma.apiToken.upsert({ where: { tokenHash }, create: data, update: {}, select: { id: true } });
  return row.id;
}

export function createPrincipalResolver(
  prisma: PrismaClient,
  adminTokenFromEnv: string | undefined,
  clock: Clock = { now: () => new Date() },
): PrincipalResolver {
  const envAdminHash = adminTokenFromEnv ? hashToken(adminTokenFromEnv) : undefined;

  /** At most one write a minute per token: only when the stored time is older than that. */
  const touch = (id: number, lastUsedAt: Date | null): void => {
    const now = clock.now();
    if (lastUsedAt && now.getTime() - lastUsedAt.getTime() < LAST_USED_RESOLUTION_MS) return;
    const staleBefore = new Date(now.getTime() - LAST_USED_RESOLUTION_MS);
    // Not awaited: bookkeeping must not slow or fail the request. The condition keeps gateways
    // racing on one token to a single effective write.
    prisma.apiToken
      .updateMany({ where: { id, OR: [{ lastUsedAt: null }, { lastUsedAt: { lt: staleBefore } }] }, data: { lastUsedAt: now } })
      .catch(() => undefined);
  };

  /**
   * A token's api_tokens row. A row with neither a service nor a customer is an admin's own
   * portal session: taken only for an admin token, and only while it has an expiry (the previous
   * release, which never looks for admin tokens here, cannot take it at all).
   */
  const fromApiTokens = async (hash: string, kind: "admin" | "service" | "customer"): Promise<Principal | "revoked" | undefined> => {
    const row = await prisma.apiToken.findUnique({
      where: { tokenHash: hash },
      select: { id: true, serviceId: true, customerId: true, revokedAt: true, lastUsedAt: true, expiresAt: true, scopeServiceId: true },
    });
    if (!row) return undefined;
    if (row.revokedAt) return "revoked";
    if (row.expiresAt && row.expiresAt.getTime() <= clock.now().getTime()) throw new ExpiredSessionError(row.expiresAt);
    touch(row.id, row.lastUsedAt);
    const expiry = row.expiresAt ? { expiresAt: row.expiresAt } : {};
    if (kind === "admin") return row.serviceId === null && row.customerId === null && row.expiresAt ? { kind: "admin", tokenId: row.id, ...expiry } : "revoked";
    if (row.serviceId !== null) return { kind: "service", serviceId: row.serviceId, tokenId: row.id, ...expiry };
    if (row.customerId !== null) {
      const scope = row.scopeServiceId !== null ? { scopeServiceId: row.scopeServiceId } : {};
      return { kind: "customer", customerId: row.customerId, tokenId: row.id, ...expiry, ...scope };
    }
    return "revoked";
  };

  return {
    async resolve(authorization) {
      if (!authorization) return undefined;
      const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
      if (!match) throw new InvalidTokenError("Authorization must be 'Bearer <token>'");
      const token = match[1]!;
      const hash = hashToken(token);
      const kind = tokenKind(token);
      switch (kind) {
        case "admin":
          if (hash === envAdminHash) return { kind: "admin" };
          if (await prisma.adminToken.findUnique({ where: { tokenHash: hash }, select: { id: true } })) {
            return { kind: "admin" };
          }
          {
            const session = await fromApiTokens(hash, "admin");
            if (session && session !== "revoked") return session;
          }
          break;
        case "service":
        case "customer": {
          const found = await fromApiTokens(hash, kind);
          if (found === "revoked") break;
          if (found) return found;
          // Not in api_tokens yet: the old column (see adoptLegacyToken). A revoked one was
          // overwritten there, so it is not found.
          if (kind === "service") {
            const service = await prisma.service.findUnique({ where: { tokenHash: hash }, select: { id: true } });
            if (service) return { kind: "service", serviceId: service.id, tokenId: await adoptLegacyToken(prisma, { serviceId: service.id }, hash) };
          } else {
            const customer = await prisma.customer.findUnique({ where: { tokenHash: hash }, select: { id: true } });
            if (customer) return { kind: "customer", customerId: customer.id, tokenId: await adoptLegacyToken(prisma, { customerId: customer.id }, hash) };
          }
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
