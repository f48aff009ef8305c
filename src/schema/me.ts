import { builder } from "./builder.js";

const PrincipalKind = builder.enumType("PrincipalKind", { values: ["ADMIN", "SERVICE", "CUSTOMER"] as const });

interface MeShape {
  kind: "ADMIN" | "SERVICE" | "CUSTOMER";
  serviceId: number | null;
  customerId: number | null;
}

const Me = builder.objectRef<MeShape>("Me").implement({
  description: "Who the bearer token is.",
  fields: (t) => ({
    kind: t.field({ type: PrincipalKind, resolve: (m) => m.kind }),
    service: t.prismaField({
      type: "Service",
      nullable: true,
      resolve: (query, m, _args, ctx) =>
        m.serviceId === null ? null : ctx.prisma.service.findUnique({ ...query, where: { id: m.serviceId } }),
    }),
    customer: t.prismaField({
      type: "Customer",
      nullable: true,
      resolve: (query, m, _args, ctx) =>
        m.customerId === null ? null : ctx.prisma.customer.findUnique({ ...query, where: { id: m.customerId } }),
    }),
  }),
});

builder.queryField("me", (t) =>
  t.field({
    type: Me,
    authScopes: { authenticated: true },
    resolve: (_root, _args, ctx): MeShape => {
      const p = ctx.principal!;
      return {
        kind: p.kind === "admin" ? "ADMIN" : p.kind === "service" ? "SERVICE" : "CUSTOMER",
        serviceId: p.kind === "service" ? p.serviceId : null,
        customerId: p.kind === "customer" ? p.customerId : null,
      };
    },
  }),
);
