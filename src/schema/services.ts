import { newToken, hashToken } from "../auth/tokens.js";
import { builder } from "./builder.js";
import { pageArgs, pageType, paginate } from "./pagination.js";
import { checkText } from "./validation.js";
import type { Prisma } from "../store/generated/prisma/client.js";
import type { GatewayContext } from "./context.js";

export const WebhookService = builder.prismaObject("Service", {
  name: "WebhookService",
  description: "A webhook service (Basalam): owns webhooks and has its own API token.",
  fields: (t) => ({
    id: t.exposeID("id"),
    title: t.exposeString("title"),
    description: t.exposeString("description"),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
    updatedAt: t.expose("updatedAt", { type: "DateTime" }),
  }),
});

const WebhookServicePage = pageType("WebhookServiceList", WebhookService);

/** The services a caller may list: all for the admin, its own for a service, those it is registered with for a customer. */
function visibleServices(ctx: GatewayContext): Prisma.ServiceWhereInput {
  const p = ctx.principal!;
  if (p.kind === "admin") return {};
  if (p.kind === "service") return { id: p.serviceId };
  return { webhooks: { some: { registrations: { some: { customerId: p.customerId } } } } };
}

builder.queryField("webhookServices", (t) =>
  t.field({
    type: WebhookServicePage,
    description: "Webhook services the caller can see (getWebhookServices).",
    authScopes: { authenticated: true },
    args: pageArgs(t.arg),
    resolve: (_root, args, ctx) => {
      const where = visibleServices(ctx);
      return paginate(
        ctx,
        args,
        () => ctx.prisma.service.count({ where }),
        (skip, take) => ctx.prisma.service.findMany({ where, skip, take, orderBy: { id: "asc" } }),
      );
    },
  }),
);

const CreateWebhookServiceInput = builder.inputType("CreateWebhookServiceInput", {
  fields: (t) => ({
    title: t.string({ required: true }),
    description: t.string(),
  }),
});

type ServiceRow = Prisma.ServiceGetPayload<object>;

const CreateWebhookServicePayload = builder
  .objectRef<{ service: ServiceRow; token: string }>("CreateWebhookServicePayload")
  .implement({
    fields: (t) => ({
      service: t.field({ type: WebhookService, resolve: (p) => p.service }),
      token: t.exposeString("token", { description: "The service's API token. Shown only now: store it." }),
    }),
  });

builder.mutationField("createWebhookService", (t) =>
  t.field({
    type: CreateWebhookServicePayload,
    description: "Creates a webhook service and its API token (admin only).",
    authScopes: { admin: true },
    args: { input: t.arg({ type: CreateWebhookServiceInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const token = newToken("service");
      const service = await ctx.prisma.service.create({
        data: {
          title: checkText("input.title", input.title, { min: 1, max: 200 }),
          description: checkText("input.description", input.description ?? "", { max: 2000 }),
          // The old column keeps the hash too: the previous release authenticates with it.
          tokenHash: hashToken(token),
          apiTokens: { create: { label: "initial", tokenHash: hashToken(token) } },
        },
      });
      return { service, token };
    },
  }),
);
