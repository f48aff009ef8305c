import { hashToken, newToken } from "../auth/tokens.js";
import { builder } from "./builder.js";
import { conflict, isUniqueViolation } from "../errors.js";
import { requireId } from "../ids.js";
import { requireWebhook } from "../webhooks/lookups.js";
import { pageArgs, pageType, paginate } from "./pagination.js";
import { checkText } from "./validation.js";
import type { Prisma } from "../store/generated/prisma/client.js";

export const Customer = builder.prismaObject("Customer", {
  description: "An end user of the platform; registers on webhooks to have its events delivered there.",
  fields: (t) => ({
    id: t.exposeID("id", { description: "The customer's id." }),
    externalId: t.exposeString("externalId", { nullable: true, description: "The platform's own id for this customer." }),
    name: t.exposeString("name", { description: "A display name (may be empty)." }),
    createdAt: t.expose("createdAt", { type: "DateTime", description: "When the customer was created." }),
  }),
});

const CustomerPage = pageType("CustomerList", Customer);

builder.queryField("webhookCustomers", (t) =>
  t.field({
    type: CustomerPage,
    description: "Customers registered on a webhook (getWebhookCustomers): the admin, or the service owning the webhook.",
    args: { webhookId: t.arg.id({ required: true, description: "The webhook whose registered customers to list." }), ...pageArgs(t.arg) },
    authScopes: (_root, args) => ({ admin: true, ownsWebhook: args.webhookId }),
    resolve: async (_root, args, ctx) => {
      const webhookId = requireId("webhookId", args.webhookId);
      await requireWebhook(ctx.prisma, webhookId);
      const where: Prisma.CustomerWhereInput = { registrations: { some: { webhookId } } };
      return paginate(
        ctx,
        args,
        () => ctx.prisma.customer.count({ where }),
        (skip, take) => ctx.prisma.customer.findMany({ where, skip, take, orderBy: { id: "asc" } }),
      );
    },
  }),
);

const CreateCustomerInput = builder.inputType("CreateCustomerInput", {
  description: "A new customer.",
  fields: (t) => ({
    externalId: t.string({ description: "The platform's own id for this customer (unique)." }),
    name: t.string({ description: "A display name, up to 200 characters." }),
  }),
});

type CustomerRow = Prisma.CustomerGetPayload<object>;

const CreateCustomerPayload = builder.objectRef<{ customer: CustomerRow; token: string }>("CreateCustomerPayload").implement({
  description: "The customer created, with its token.",
  fields: (t) => ({
    customer: t.field({ type: Customer, description: "The customer created.", resolve: (p) => p.customer }),
    token: t.exposeString("token", { description: "The customer's API token. Shown only now: store it." }),
  }),
});

builder.mutationField("createCustomer", (t) =>
  t.field({
    type: CreateCustomerPayload,
    description: "Creates a customer and its API token (admin only).",
    authScopes: { admin: true },
    args: { input: t.arg({ type: CreateCustomerInput, required: true, description: "The customer to create." }) },
    resolve: async (_root, { input }, ctx) => {
      const token = newToken("customer");
      const externalId = input.externalId == null ? null : checkText("input.externalId", input.externalId, { min: 1, max: 255 });
      try {
        const customer = await ctx.prisma.customer.create({
          data: {
            externalId,
            name: checkText("input.name", input.name ?? "", { max: 200 }),
            // The old column keeps the hash too: the previous release authenticates with it.
            tokenHash: hashToken(token),
            apiTokens: { create: { label: "initial", tokenHash: hashToken(token) } },
          },
        });
        return { customer, token };
      } catch (error) {
        if (isUniqueViolation(error)) throw conflict(`a customer with externalId "${externalId}" already exists`, "input.externalId");
        throw error;
      }
    },
  }),
);
