import { randomBytes } from "node:crypto";
import { adoptLegacyToken, isSession, REVOKED_PREFIX } from "../auth/principal.js";
import { hashToken, newToken } from "../auth/tokens.js";
import type { Prisma } from "../store/generated/prisma/client.js";
import { builder } from "./builder.js";
import type { GatewayContext } from "./context.js";
import { badInput, gatewayError, notFound } from "../errors.js";
import { requireId } from "../ids.js";
import { checkText } from "./validation.js";

/**
 * Service and customer API tokens: several per principal, each with a label; created (shown
 * once), listed (never the token) and revoked. Who may manage whose: the admin any principal's,
 * a service its own, a customer its own.
 */
export const ApiToken = builder.prismaObject("ApiToken", {
  description: "An API token of a service or a customer. The token itself is shown only when it is created; only its SHA-256 hash is stored.",
  fields: (t) => ({
    id: t.exposeID("id", { description: "Identifies the token for revokeApiToken." }),
    label: t.exposeString("label", { description: "What the token is for, as given at creation ('initial' for the token made with its service or customer)." }),
    service: t.relation("service", { nullable: true, description: "The service the token authenticates as, for a service token." }),
    customer: t.relation("customer", { nullable: true, description: "The customer the token authenticates as, for a customer token." }),
    createdAt: t.expose("createdAt", { type: "DateTime", description: "When the token was created." }),
    lastUsedAt: t.expose("lastUsedAt", {
      type: "DateTime",
      nullable: true,
      description: "When the token last authenticated a request, to the minute (written at most once a minute); null if never.",
    }),
    expiresAt: t.expose("expiresAt", {
      type: "DateTime",
      nullable: true,
      description: "When a portal session (createPortalSession) expires; null for a token valid until revoked.",
    }),
    scopeServiceId: t.exposeID("scopeServiceId", {
      nullable: true,
      description: "For a customer session a service minted: that service, the only one whose webhooks and events the session reaches.",
    }),
    revokedAt: t.expose("revokedAt", {
      type: "DateTime",
      nullable: true,
      description: "When the token was revoked; from then on every gateway refuses it, and its open streams end within about HOOKGATE_LIVE_POLL_MS.",
    }),
  }),
});

type Owner = { serviceId: number } | { customerId: number };

/** Whose tokens: the one named, or the caller's own. */
function ownerOf(ctx: Pick<GatewayContext, "principal">, args: { serviceId?: string | number | null; customerId?: string | number | null }, at: string): Owner {
  // A session stays short-lived: it cannot reach or make longer-lived tokens.
  if (isSession(ctx.principal!)) throw gatewayError("FORBIDDEN", "a portal session cannot list or create API tokens");
  if (args.serviceId != null && args.customerId != null) throw badInput(`${at}serviceId`, "give serviceId or customerId, not both");
  if (args.serviceId != null) return { serviceId: requireId(`${at}serviceId`, args.serviceId) };
  if (args.customerId != null) return { customerId: requireId(`${at}customerId`, args.customerId) };
  const p = ctx.principal!;
  if (p.kind === "service") return { serviceId: p.serviceId };
  if (p.kind === "customer") return { customerId: p.customerId };
  throw badInput(`${at}serviceId`, "an admin token names the principal: give serviceId or customerId");
}

/** The principal exists, and its token from the old column is listed too (copied into api_tokens once). */
async function loadOwner(ctx: Pick<GatewayContext, "prisma">, owner: Owner): Promise<void> {
  const row =
    "serviceId" in owner
      ? await ctx.prisma.service.findUnique({ where: { id: owner.serviceId }, select: { tokenHash: true } })
      : await ctx.prisma.customer.findUnique({ where: { id: owner.customerId }, select: { tokenHash: true } });
  if (!row) throw notFound("serviceId" in owner ? `service ${owner.serviceId}` : `customer ${owner.customerId}`);
  if (!row.tokenHash.startsWith(REVOKED_PREFIX)) await adoptLegacyToken(ctx.prisma, owner, row.tokenHash);
}

/** Who may manage the tokens of the principal named by serviceId / customerId (or the caller's own). */
const managerScopes = (args: { serviceId?: string | number | null; customerId?: string | number | null }) =>
  args.serviceId != null && args.customerId != null
    ? { admin: true }
    : args.serviceId != null
      ? { admin: true, ownsService: args.serviceId }
      : args.customerId != null
        ? { admin: true, isCustomer: args.customerId }
        : { authenticated: true };

builder.queryField("apiTokens", (t) =>
  t.prismaField({
    type: ["ApiToken"],
    description:
      "The API tokens of a service or customer (serviceId or customerId; without either, the caller's own), oldest first, revoked ones included. The admin may list any principal's, a service or customer its own.",
    args: {
      serviceId: t.arg.id({ description: "List this service's tokens." }),
      customerId: t.arg.id({ description: "List this customer's tokens." }),
    },
    authScopes: (_root, args) => managerScopes(args),
    resolve: async (query, _root, args, ctx) => {
      const owner = ownerOf(ctx, args, "");
      await loadOwner(ctx, owner);
      return ctx.prisma.apiToken.findMany({ ...query, where: owner, orderBy: { id: "asc" } });
    },
  }),
);

const CreateApiTokenInput = builder.inputType("CreateApiTokenInput", {
  description: "A new token for a service or customer (serviceId or customerId; without either, for the caller itself).",
  fields: (t) => ({
    label: t.string({ required: true, description: "What the token is for (1 to 200 characters), shown in apiTokens." }),
    serviceId: t.id({ description: "Create a token of this service." }),
    customerId: t.id({ description: "Create a token of this customer." }),
  }),
});

type ApiTokenRow = Prisma.ApiTokenGetPayload<object>;

const CreateApiTokenPayload = builder.objectRef<{ apiToken: ApiTokenRow; token: string }>("CreateApiTokenPayload").implement({
  description: "A token just created.",
  fields: (t) => ({
    apiToken: t.field({ type: ApiToken, description: "The stored token (without the token itself).", resolve: (p) => p.apiToken }),
    token: t.exposeString("token", { description: "The bearer token. Shown only now: store it; it is valid until revoked." }),
  }),
});

builder.mutationField("createApiToken", (t) =>
  t.field({
    type: CreateApiTokenPayload,
    description:
      "Creates another API token for a service or customer, so a token can be rotated: create the new one, switch clients over, revoke the old one. The admin for any principal; a service or customer for itself.",
    args: { input: t.arg({ type: CreateApiTokenInput, required: true, description: "Whose token to make, and its label." }) },
    authScopes: (_root, { input }) => managerScopes(input),
    resolve: async (_root, { input }, ctx) => {
      const owner = ownerOf(ctx, input, "input.");
      const label = checkText("input.label", input.label, { min: 1, max: 200 });
      await loadOwner(ctx, owner);
      const token = newToken("serviceId" in owner ? "service" : "customer");
      const apiToken = await ctx.prisma.apiToken.create({ data: { ...owner, label, tokenHash: hashToken(token) } });
      return { apiToken, token };
    },
  }),
);

builder.mutationField("revokeApiToken", (t) =>
  t.prismaField({
    type: "ApiToken",
    description:
      "Revokes an API token at once: every gateway sharing the database refuses it from the next request, and streams it opened (websocket connections, SSE and websocket subscriptions) end within about HOOKGATE_LIVE_POLL_MS. The admin any token; a service or customer its own. Revoking twice is harmless.",
    args: { tokenId: t.arg.id({ required: true, description: "The id of the token (ApiToken.id)." }) },
    authScopes: (_root, args) => ({ admin: true, ownsApiToken: args.tokenId }),
    resolve: async (query, _root, args, ctx) => {
      const id = requireId("tokenId", args.tokenId);
      return ctx.prisma.$transaction(async (tx) => {
        const row = await tx.apiToken.findUnique({ where: { id }, select: { tokenHash: true, revokedAt: true } });
        if (!row) throw notFound(`API token ${id}`);
        // The old column may hold the same hash (the previous release reads it): make it unusable.
        const unusable = `${REVOKED_PREFIX}${randomBytes(16).toString("hex")}`;
        await tx.service.updateMany({ where: { tokenHash: row.tokenHash }, data: { tokenHash: unusable } });
        await tx.customer.updateMany({ where: { tokenHash: row.tokenHash }, data: { tokenHash: unusable } });
        return tx.apiToken.update({ ...query, where: { id }, data: { revokedAt: row.revokedAt ?? ctx.clock.now() } });
      });
    },
  }),
);
