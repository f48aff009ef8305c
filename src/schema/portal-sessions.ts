import { isSession } from "../auth/principal.js";
import { hashToken, newToken } from "../auth/tokens.js";
import { badInput, gatewayError, notFound } from "../errors.js";
import type { Prisma } from "../store/generated/prisma/client.js";
import { ApiToken } from "./api-tokens.js";
import { builder } from "./builder.js";
import type { GatewayContext } from "./context.js";
import { requireId } from "../ids.js";

/**
 * Portal sessions: short-lived API tokens for opening the console (a portal link) without
 * handing out a long-lived token. A session is an api_tokens row with an expiry (stored hashed,
 * revocable with revokeApiToken, refused and its streams ended once it expires). A customer
 * session a service mints is scoped to that service (scope_service_id): customers are global, and
 * the session must show only what the minting service's webhooks concern. The admin's own session
 * is a row with neither a service nor a customer (see principal.ts): an admin token that expires.
 */

export const SESSION_DEFAULT_SECONDS = 3600;
export const SESSION_MIN_SECONDS = 60;
export const SESSION_MAX_SECONDS = 86_400;

const CreatePortalSessionInput = builder.inputType("CreatePortalSessionInput", {
  description:
    "Whose session to mint. A service: for itself (neither id) or for a customer registered on one of its webhooks (customerId). The admin: for itself (neither id), a service (serviceId), a customer (customerId), or a customer scoped to a service (both).",
  fields: (t) => ({
    serviceId: t.id({ description: "A session of this service (admin only; a service's own id is allowed). With customerId: the service the customer session is scoped to." }),
    customerId: t.id({ description: "A session of this customer. Minted by a service, it sees only that service's webhooks and the events routed to them." }),
    expiresInSeconds: t.int({
      description: `How long the session lasts, in seconds: ${SESSION_MIN_SECONDS} to ${SESSION_MAX_SECONDS} (24 hours); default ${SESSION_DEFAULT_SECONDS} (1 hour).`,
    }),
  }),
});

type ApiTokenRow = Prisma.ApiTokenGetPayload<object>;

const PortalSession = builder.objectRef<{ apiToken: ApiTokenRow; token: string; url: string }>("PortalSession").implement({
  description: "A portal session just minted.",
  fields: (t) => ({
    token: t.exposeString("token", { description: "The session's bearer token. Shown only now; it stops working at expiresAt or when revoked." }),
    url: t.exposeString("url", {
      description:
        "The console link: …/console/#session=<token>. The token is in the fragment, which browsers never send to a server; the console reads it and removes it from the address bar. Its base is HOOKGATE_PUBLIC_URL, or the address this request came to.",
    }),
    expiresAt: t.field({ type: "DateTime", description: "When the session expires.", resolve: (s) => s.apiToken.expiresAt! }),
    apiToken: t.field({ type: ApiToken, description: "The stored session (its id revokes it with revokeApiToken).", resolve: (s) => s.apiToken }),
  }),
});

/** Neither id: the admin's own session. */
interface SessionOwner {
  readonly serviceId?: number;
  readonly customerId?: number;
  readonly scopeServiceId?: number;
}

/** Whose session, by who asks: a service only for itself or its customers, scoped to itself. */
async function sessionOwner(ctx: Pick<GatewayContext, "principal" | "prisma">, input: { serviceId?: string | number | null; customerId?: string | number | null }): Promise<SessionOwner> {
  const p = ctx.principal!;
  const serviceId = input.serviceId != null ? requireId("input.serviceId", input.serviceId) : undefined;
  const customerId = input.customerId != null ? requireId("input.customerId", input.customerId) : undefined;
  if (p.kind === "service") {
    if (serviceId !== undefined && serviceId !== p.serviceId) {
      throw gatewayError("FORBIDDEN", `a service token mints sessions for itself and its customers only, not for service ${serviceId}`, { field: "input.serviceId" });
    }
    if (customerId === undefined) return { serviceId: p.serviceId };
    // Registered on one of this service's webhooks; any other customer is NOT_FOUND, like a missing one.
    const registered = await ctx.prisma.registration.findFirst({ where: { customerId, webhook: { serviceId: p.serviceId } }, select: { customerId: true } });
    if (!registered) throw notFound(`customer ${customerId} among this service's registered customers`);
    return { customerId, scopeServiceId: p.serviceId };
  }
  // The admin.
  if (customerId !== undefined) {
    if (!(await ctx.prisma.customer.findUnique({ where: { id: customerId }, select: { id: true } }))) throw notFound(`customer ${customerId}`);
    if (serviceId !== undefined && !(await ctx.prisma.service.findUnique({ where: { id: serviceId }, select: { id: true } }))) {
      throw notFound(`service ${serviceId}`);
    }
    return serviceId === undefined ? { customerId } : { customerId, scopeServiceId: serviceId };
  }
  if (serviceId === undefined) return {}; // the admin's own
  if (!(await ctx.prisma.service.findUnique({ where: { id: serviceId }, select: { id: true } }))) throw notFound(`service ${serviceId}`);
  return { serviceId };
}

builder.mutationField("createPortalSession", (t) =>
  t.field({
    type: PortalSession,
    description:
      "Mints a short-lived session and the console link that opens with it, so a platform can embed or send the console without handing out a long-lived token. The admin or a service (not a session); see CreatePortalSessionInput for whose. Revoke it early with revokeApiToken.",
    args: { input: t.arg({ type: CreatePortalSessionInput, required: true, description: "Whose session, and for how long." }) },
    authScopes: { admin: true, service: true },
    resolve: async (_root, { input }, ctx) => {
      if (isSession(ctx.principal!)) throw gatewayError("FORBIDDEN", "a portal session cannot mint another session");
      const seconds = input.expiresInSeconds ?? SESSION_DEFAULT_SECONDS;
      if (!Number.isInteger(seconds) || seconds < SESSION_MIN_SECONDS || seconds > SESSION_MAX_SECONDS) {
        throw badInput("input.expiresInSeconds", `must be ${SESSION_MIN_SECONDS} to ${SESSION_MAX_SECONDS} seconds`);
      }
      const owner = await sessionOwner(ctx, input);
      const token = newToken(owner.customerId !== undefined ? "customer" : owner.serviceId !== undefined ? "service" : "admin");
      const expiresAt = new Date(ctx.clock.now().getTime() + seconds * 1000);
      const apiToken = await ctx.prisma.apiToken.create({
        data: {
          ...(owner.customerId !== undefined ? { customerId: owner.customerId } : owner.serviceId !== undefined ? { serviceId: owner.serviceId } : {}),
          scopeServiceId: owner.scopeServiceId ?? null,
          label: "portal session",
          tokenHash: hashToken(token),
          createdAt: ctx.clock.now(),
          expiresAt,
        },
      });
      const base = ctx.config.HOOKGATE_PUBLIC_URL ?? ctx.requestOrigin ?? `http://${ctx.config.HOOKGATE_HOST}:${ctx.config.HOOKGATE_PORT}`;
      return { apiToken, token, url: `${base}/console/#session=${token}` };
    },
  }),
);
