import { builder } from "./builder.js";
import { notFound, webhookNotFound } from "../errors.js";
import { requireId } from "../ids.js";
import { pageArgs, paginate } from "./pagination.js";
import { visibleWebhooks, WebhookPage } from "./webhooks.js";
import type { Prisma } from "../store/generated/prisma/client.js";

export const Registration = builder.prismaObject("Registration", {
  description: "A customer registered on a webhook: the webhook receives that customer's events.",
  fields: (t) => ({
    webhook: t.relation("webhook", { description: "The webhook registered on." }),
    customer: t.relation("customer", { description: "The customer registered." }),
    createdAt: t.expose("createdAt", { type: "DateTime", description: "When the customer registered." }),
  }),
});

builder.queryField("registeredWebhooks", (t) =>
  t.field({
    type: WebhookPage,
    description: "The webhooks the calling customer is registered on, optionally of one service.",
    args: { serviceId: t.arg.id({ description: "Only this service's webhooks." }), ...pageArgs(t.arg) },
    authScopes: { customer: true },
    resolve: (_root, args, ctx) => {
      const p = ctx.principal!;
      const customerId = p.kind === "customer" ? p.customerId : 0;
      const where: Prisma.WebhookWhereInput = {
        AND: [
          visibleWebhooks(ctx.principal!),
          { registrations: { some: { customerId } } },
          args.serviceId ? { serviceId: requireId("serviceId", args.serviceId) } : {},
        ],
      };
      return paginate(
        ctx,
        args,
        () => ctx.prisma.webhook.count({ where }),
        (skip, take) => ctx.prisma.webhook.findMany({ where, skip, take, orderBy: { id: "asc" } }),
      );
    },
  }),
);

const RegisterWebhookInput = builder.inputType("RegisterWebhookInput", {
  description: "A webhook to register the calling customer on.",
  fields: (t) => ({ webhookId: t.id({ required: true, description: "The webhook to register on." }) }),
});

builder.mutationField("registerWebhook", (t) =>
  t.prismaField({
    type: "Registration",
    description:
      "Registers the calling customer on a webhook its service opened to customers (openToCustomers), so the webhook receives that customer's events. A closed webhook is NOT_FOUND, exactly like one that does not exist. Registering twice is harmless.",
    args: { input: t.arg({ type: RegisterWebhookInput, required: true, description: "The webhook to register on." }) },
    authScopes: { customer: true },
    resolve: async (query, _root, { input }, ctx) => {
      const p = ctx.principal!;
      const customerId = p.kind === "customer" ? p.customerId : 0;
      const webhookId = requireId("input.webhookId", input.webhookId);
      // Closed and missing answer the same, so ids cannot be probed.
      const webhook = await ctx.prisma.webhook.findUnique({ where: { id: webhookId }, select: { openToCustomers: true, serviceId: true } });
      if (!webhook?.openToCustomers) throw webhookNotFound(webhookId);
      // A customer session a service minted reaches that service's webhooks only.
      if (p.kind === "customer" && p.scopeServiceId !== undefined && webhook.serviceId !== p.scopeServiceId) throw webhookNotFound(webhookId);
      return ctx.prisma.registration.upsert({
        ...query,
        where: { webhookId_customerId: { webhookId, customerId } },
        create: { webhookId, customerId },
        update: {},
      });
    },
  }),
);

const UnregisterWebhookInput = builder.inputType("UnregisterWebhookInput", {
  description: "A registration to remove.",
  fields: (t) => ({
    webhookId: t.id({ required: true, description: "The webhook." }),
    customerId: t.id({ required: true, description: "The customer (a customer token may name only itself)." }),
  }),
});

const UnregisterWebhookPayload = builder
  .objectRef<{ webhookId: number; customerId: number }>("UnregisterWebhookPayload")
  .implement({
    description: "The registration removed.",
    fields: (t) => ({
      webhookId: t.exposeID("webhookId", { description: "The webhook." }),
      customerId: t.exposeID("customerId", { description: "The customer." }),
    }),
  });

builder.mutationField("unregisterWebhook", (t) =>
  t.field({
    type: UnregisterWebhookPayload,
    description: "Removes a customer from a webhook: the owning service, the customer itself, or the admin.",
    args: { input: t.arg({ type: UnregisterWebhookInput, required: true, description: "The registration to remove." }) },
    authScopes: (_root, { input }) => ({ admin: true, ownsWebhook: input.webhookId, isCustomer: input.customerId }),
    resolve: async (_root, { input }, ctx) => {
      const webhookId = requireId("input.webhookId", input.webhookId);
      const customerId = requireId("input.customerId", input.customerId);
      const p = ctx.principal!;
      const scope = p.kind === "customer" && p.scopeServiceId !== undefined ? { webhook: { serviceId: p.scopeServiceId } } : {};
      const { count } = await ctx.prisma.registration.deleteMany({ where: { webhookId, customerId, ...scope } });
      if (!count) throw notFound(`a registration of customer ${customerId} on webhook ${webhookId}`);
      return { webhookId, customerId };
    },
  }),
);
