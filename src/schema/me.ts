import { builder } from "./builder.js";

const PrincipalKind = builder.enumType("PrincipalKind", {
  description: "What kind of principal a token belongs to.",
  values: {
    ADMIN: { description: "The operator of the installation: may do everything." },
    SERVICE: { description: "A webhook service: manages its own webhooks, their customers and logs." },
    CUSTOMER: { description: "An end user: registers on webhooks and reads its own events." },
  } as const,
});

interface MeShape {
  kind: "ADMIN" | "SERVICE" | "CUSTOMER";
  serviceId: number | null;
  customerId: number | null;
  expiresAt: Date | null;
  scopeServiceId: number | null;
}

const Me = builder.objectRef<MeShape>("Me").implement({
  description: "Who the bearer token is.",
  fields: (t) => ({
    kind: t.field({ type: PrincipalKind, description: "What the token may do.", resolve: (m) => m.kind }),
    service: t.prismaField({
      type: "Service",
      nullable: true,
      description: "The service, for a service token; null otherwise.",
      resolve: (query, m, _args, ctx) =>
        m.serviceId === null ? null : ctx.prisma.service.findUnique({ ...query, where: { id: m.serviceId } }),
    }),
    customer: t.prismaField({
      type: "Customer",
      nullable: true,
      description: "The customer, for a customer token; null otherwise.",
      resolve: (query, m, _args, ctx) =>
        m.customerId === null ? null : ctx.prisma.customer.findUnique({ ...query, where: { id: m.customerId } }),
    }),
    expiresAt: t.field({
      type: "DateTime",
      nullable: true,
      description: "When the token expires, for a portal session (createPortalSession); null for a token valid until revoked.",
      resolve: (m) => m.expiresAt,
    }),
    expiresInSeconds: t.int({
      nullable: true,
      description:
        "For a portal session: the seconds it has left by the gateway's clock (0 once expired); null for a token valid until revoked. A client times the session's end with it, whatever its own clock says.",
      resolve: (m, _args, ctx) =>
        m.expiresAt === null ? null : Math.max(0, Math.ceil((m.expiresAt.getTime() - ctx.clock.now().getTime()) / 1000)),
    }),
    scopeService: t.prismaField({
      type: "Service",
      nullable: true,
      description: "For a customer session a service minted: that service, the only one whose webhooks and events the session sees; null otherwise.",
      resolve: (query, m, _args, ctx) =>
        m.scopeServiceId === null ? null : ctx.prisma.service.findUnique({ ...query, where: { id: m.scopeServiceId } }),
    }),
  }),
});

builder.queryField("me", (t) =>
  t.field({
    type: Me,
    description: "Who the bearer token belongs to (any valid token).",
    authScopes: { authenticated: true },
    resolve: (_root, _args, ctx): MeShape => {
      const p = ctx.principal!;
      return {
        kind: p.kind === "admin" ? "ADMIN" : p.kind === "service" ? "SERVICE" : "CUSTOMER",
        serviceId: p.kind === "service" ? p.serviceId : null,
        customerId: p.kind === "customer" ? p.customerId : null,
        expiresAt: p.expiresAt ?? null,
        scopeServiceId: p.kind === "customer" ? (p.scopeServiceId ?? null) : null,
      };
    },
  }),
);
