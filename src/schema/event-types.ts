import { builder } from "./builder.js";
import { conflict, isUniqueViolation, badInput, notFound } from "./errors.js";
import { requireId } from "./ids.js";
import { pageArgs, pageType, paginate } from "./pagination.js";
import { checkEventTypeName, checkText } from "./validation.js";
import type { Prisma } from "../store/generated/prisma/client.js";

export const EventType = builder.prismaObject("EventType", {
  description: "A kind of event in the global catalog (Basalam's webhook events).",
  fields: (t) => ({
    id: t.exposeID("id"),
    name: t.exposeString("name", { description: "e.g. CHAT_RECEIVED_MESSAGE, sms, whatsapp, statusInstanceChanged." }),
    description: t.exposeString("description"),
    sampleData: t.expose("sampleData", { type: "JSON", description: "A sample payload (used by sendTestEvent)." }),
    scopes: t.exposeStringList("scopes", { description: "Permissions a receiver needs, e.g. customer.chat.read." }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
  }),
});

const EventTypePage = pageType("EventTypeList", EventType);

builder.queryField("webhookEvents", (t) =>
  t.field({
    type: EventTypePage,
    description: "The catalog of event types (getWebhookEvents). Any token may read it.",
    authScopes: { authenticated: true },
    args: pageArgs(t.arg),
    resolve: (_root, args, ctx) =>
      paginate(
        ctx,
        args,
        () => ctx.prisma.eventType.count(),
        (skip, take) => ctx.prisma.eventType.findMany({ skip, take, orderBy: { id: "asc" } }),
      ),
  }),
);

const CreateEventTypeInput = builder.inputType("CreateEventTypeInput", {
  fields: (t) => ({
    name: t.string({ required: true }),
    description: t.string(),
    sampleData: t.field({ type: "JSON", description: "A sample payload; defaults to {}." }),
    scopes: t.stringList(),
  }),
});

builder.mutationField("createEventType", (t) =>
  t.prismaField({
    type: "EventType",
    description: "Adds an event type to the catalog (admin only).",
    authScopes: { admin: true },
    args: { input: t.arg({ type: CreateEventTypeInput, required: true }) },
    resolve: async (query, _root, { input }, ctx) => {
      const name = checkEventTypeName("input.name", input.name);
      const scopes = (input.scopes ?? []).map((s, i) => checkText(`input.scopes[${i}]`, s, { min: 1, max: 200 }));
      const sampleData = input.sampleData ?? {};
      if (sampleData === null) throw badInput("input.sampleData", "must not be null");
      try {
        return await ctx.prisma.eventType.create({
          ...query,
          data: {
            name,
            description: checkText("input.description", input.description ?? "", { max: 2000 }),
            sampleData: sampleData as Prisma.InputJsonValue,
            scopes,
          },
        });
      } catch (error) {
        if (isUniqueViolation(error)) throw conflict(`an event type named "${name}" already exists`, "input.name");
        throw error;
      }
    },
  }),
);

const UpdateEventTypeInput = builder.inputType("UpdateEventTypeInput", {
  description: "Only the fields given change. The name stays: publishers and stored events refer to it.",
  fields: (t) => ({
    description: t.string(),
    sampleData: t.field({ type: "JSON", description: "A sample payload (used by sendTestEvent)." }),
    scopes: t.stringList({ description: "Replaces the scopes." }),
  }),
});

builder.mutationField("updateEventType", (t) =>
  t.prismaField({
    type: "EventType",
    description: "Changes an event type's description, sample payload or scopes (admin only).",
    authScopes: { admin: true },
    args: { eventTypeId: t.arg.id({ required: true }), input: t.arg({ type: UpdateEventTypeInput, required: true }) },
    resolve: async (query, _root, { eventTypeId, input }, ctx) => {
      const id = requireId("eventTypeId", eventTypeId);
      const data: Prisma.EventTypeUpdateInput = {};
      if (input.description != null) data.description = checkText("input.description", input.description, { max: 2000 });
      if (input.scopes != null) data.scopes = input.scopes.map((s, i) => checkText(`input.scopes[${i}]`, s, { min: 1, max: 200 }));
      if (input.sampleData !== undefined) {
        if (input.sampleData === null) throw badInput("input.sampleData", "must not be null");
        data.sampleData = input.sampleData as Prisma.InputJsonValue;
      }
      try {
        return await ctx.prisma.eventType.update({ ...query, where: { id }, data });
      } catch (error) {
        // P2025: no such row.
        if ((error as { code?: unknown }).code === "P2025") throw notFound(`event type ${id}`);
        throw error;
      }
    },
  }),
);
