import { newToken, hashToken } from "../auth/tokens.js";
import { builder } from "./builder.js";
import { pageArgs, pageType, paginate } from "./pagination.js";
import { checkText } from "./validation.js";
import type { Prisma } from "../store/generated/prisma/client.js";
import type { Principal } from "../auth/principal.js";

export const WebhookService = builder.prismaObject("Service", {
  name: "WebhookService",
  description: "A webhook service: owns webhooks and has its own API token.",
  fields: (t) => ({
    id: t.exposeID("id", { description: "The service's id." }),
    title: t.exposeString("title", { description: "A short name for people." }),
    description: t.exposeString("description", { description: "What the service is for (may be empty)." }),
    createdAt: t.expose("createdAt", { type: "DateTime", description: "When the service was created." }),
    updatedAt: t.expose("updatedAt", { type: "DateTime", description: "When the service was last changed." }),
  }),
});

const WebhookServicePage = pageType("WebhookServiceList", WebhookService);

/** The services a caller may list: all for the admin, its own for a service, those it is registered with for a customer. */
function visibleServices(ctx: { readonly principal: Principal | undefined }): Prisma.ServiceWhereInput {
  const p = ctx.principal!;
  if (p.kind === "admin") return {};
  if (p.kind === "service") return { id: p.serviceId };
  return { webhooks: { some: { registrations: { some: { customerId: p.customerId } } } } };
}

builder.queryField("webhookServices", (t) =>
  t.field({
    type: WebhookServicePage,
    description: "Webhook services the caller can see: all for the admin, its own for a service, those with a webhook it is registered on for a customer.",
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
  description: "A new webhook service.",
  fields: (t) => ({
    title: t.string({ required: true, description: "A short name for people, 1 to 200 characters." }),
    description: t.string({ description: "What the service is for, up to 2000 characters." }),
  }),
});

type ServiceRow = Prisma.ServiceGetPayload<object>;

const CreateWebhookServicePayload = builder
  .objectRef<{ service: ServiceRow; token: string }>("CreateWebhookServicePayload")
  .implement({
    description: "The service created, with its token.",
    fields: (t) => ({
      service: t.field({ type: WebhookService, description: "The service created.", resolve: (p) => p.service }),
      token: t.exposeString("token", { description: "The service's API token. Shown only now: store it." }),
    }),
  });

builder.mutationField("createWebhookService", (t) =>
  t.field({
    type: CreateWebhookServicePayload,
    description: "Creates a webhook service and its API token (admin only).",
    authScopes: { admin: true },
    args: { input: t.arg({ type: CreateWebhookServiceInput, required: true, description: "The service to create." }) },
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
