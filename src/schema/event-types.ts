import { builder } from "./builder.js";
import { conflict, isUniqueViolation, badInput } from "./errors.js";
import { pageArgs, pageType, paginate } from "./pagination.js";
import { checkEventTypeName, checkText } from "./validation.js";
import type { Prisma } from "../store/generated/prisma/client.js";

export const EventType = builder.prismaObject("EventType", {
  description: "A kind of event in the global catalog: what webhooks subscribe to and events are published as.",
  fields: (t) => ({
    id: t.exposeID("id", { description: "The event type's id (webhooks subscribe by id or name)." }),
    name: t.exposeString("name", { description: "The unique name events are published under, e.g. CHAT_RECEIVED_MESSAGE or sms." }),
    description: t.exposeString("description", { description: "What the event means (may be empty)." }),
    sampleData: t.expose("sampleData", { type: "JSON", description: "A sample payload (used by sendTestEvent)." }),
    scopes: t.exposeStringList("scopes", { description: "Permissions a receiver needs, e.g. customer.chat.read." }),
    createdAt: t.expose("createdAt", { type: "DateTime", description: "When the event type was added." }),
  }),
});

const EventTypePage = pageType("EventTypeList", EventType);

builder.queryField("webhookEvents", (t) =>
  t.field({
    type: EventTypePage,
    description: "The catalog of event types. Any token may read it.",
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
  description: "A new event type.",
  fields: (t) => ({
    name: t.string({ required: true, description: "A unique name: a letter, then letters, digits, _ . : - (at most 128 characters)." }),
    description: t.string({ description: "What the event means, up to 2000 characters." }),
    sampleData: t.field({ type: "JSON", description: "A sample payload; defaults to {}." }),
    scopes: t.stringList({ description: "Permissions a receiver needs, each 1 to 200 characters." }),
  }),
});

builder.mutationField("createEventType", (t) =>
  t.prismaField({
    type: "EventType",
    description: "Adds an event type to the catalog (admin only).",
    authScopes: { admin: true },
    args: { input: t.arg({ type: CreateEventTypeInput, required: true, description: "The event type to add." }) },
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
