import { builder } from "./builder.js";
import { conflict, isUniqueViolation, badInput, notFound } from "../errors.js";
import { pageArgs, pageType, paginate } from "./pagination.js";
import { checkEventTypeName, checkText } from "./validation.js";
import { Prisma } from "../store/generated/prisma/client.js";
import { PayloadSchemas } from "../publishing/payload-schema.js";
import { isReservedEventName, RESERVED_PREFIX } from "../publishing/publisher.js";
import { requireId } from "../ids.js";

export const EventType = builder.prismaObject("EventType", {
  description:
    "A kind of event in the global catalog: what webhooks subscribe to and events are published as. Types named hookgate.* are Hookgate's own operational events (negative ids; they cannot be created, changed or published through the API).",
  fields: (t) => ({
    id: t.exposeID("id", { description: "The event type's id (webhooks subscribe by id or name)." }),
    name: t.exposeString("name", { description: "The unique name events are published under, e.g. CHAT_RECEIVED_MESSAGE or sms." }),
    description: t.exposeString("description", { description: "What the event means (may be empty)." }),
    sampleData: t.expose("sampleData", { type: "JSON", description: "A sample payload (used by sendTestEvent)." }),
    scopes: t.exposeStringList("scopes", { description: "Permissions a receiver needs, e.g. customer.chat.read." }),
    jsonSchema: t.expose("jsonSchema", {
      type: "JSON",
      nullable: true,
      description: "A JSON Schema (draft 2020-12) every published payload must match; null: any payload is accepted.",
    }),
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
    name: t.string({
      required: true,
      description: "A unique name: a letter, then letters, digits, _ . : - (at most 128 characters); names starting with hookgate. are reserved.",
    }),
    description: t.string({ description: "What the event means, up to 2000 characters." }),
    sampleData: t.field({ type: "JSON", description: "A sample payload; defaults to {}." }),
    scopes: t.stringList({ description: "Permissions a receiver needs, each 1 to 200 characters." }),
    jsonSchema: t.field({
      type: "JSON",
      description: "A JSON Schema (draft 2020-12, at most 64 KiB) payloads must match; sampleData must match it too.",
    }),
  }),
});

const UpdateEventTypeInput = builder.inputType("UpdateEventTypeInput", {
  description: "The settings to change; those not given stay. The name cannot change (events keep the name they were published under).",
  fields: (t) => ({
    description: t.string({ description: "What the event means, up to 2000 characters." }),
    sampleData: t.field({ type: "JSON", description: "A sample payload (must match the schema, if there is one)." }),
    scopes: t.stringList({ description: "Permissions a receiver needs; replaces the list." }),
    jsonSchema: t.field({
      type: "JSON",
      description:
        "A new JSON Schema (draft 2020-12); null removes it. Refused when the sample data does not match it. Applies to events published from now on; stored events are not checked again.",
    }),
  }),
});

/** A schema and the sample it must accept, checked together; the compiled schema is not kept here. */
function checkSchemaAndSample(ctx: { readonly schemas: Pick<PayloadSchemas, "check"> }, jsonSchema: unknown, sampleData: unknown, changing: "jsonSchema" | "sampleData"): void {
  if (jsonSchema === null || jsonSchema === undefined) return;
  const checked = ctx.schemas.check(jsonSchema);
  if ("problem" in checked) throw badInput("input.jsonSchema", checked.problem.message);
  const problem = PayloadSchemas.problemWith(checked.validate, sampleData);
  if (problem) {
    const where = `"${problem.path || "/"}": ${problem.message}`;
    throw changing === "jsonSchema"
      ? badInput("input.jsonSchema", `the event type's sampleData does not match it at ${where}; give a matching sampleData in the same change`)
      : badInput("input.sampleData", `does not match the event type's schema at ${where}`);
  }
}

builder.mutationField("createEventType", (t) =>
  t.prismaField({
    type: "EventType",
    description: "Adds an event type to the catalog (admin only).",
    authScopes: { admin: true },
    args: { input: t.arg({ type: CreateEventTypeInput, required: true, description: "The event type to add." }) },
    resolve: async (query, _root, { input }, ctx) => {
      const name = checkEventTypeName("input.name", input.name);
      if (isReservedEventName(name)) {
        throw badInput("input.name", `"${name}": names starting with "${RESERVED_PREFIX}" are reserved for Hookgate's operational events`);
      }
      const scopes = (input.scopes ?? []).map((s, i) => checkText(`input.scopes[${i}]`, s, { min: 1, max: 200 }));
      const sampleData = input.sampleData ?? {};
      if (sampleData === null) throw badInput("input.sampleData", "must not be null");
      checkSchemaAndSample(ctx, input.jsonSchema, sampleData, input.sampleData == null ? "jsonSchema" : "sampleData");
      try {
        return await ctx.prisma.eventType.create({
          ...query,
          data: {
            name,
            description: checkText("input.description", input.description ?? "", { max: 2000 }),
            sampleData: sampleData as Prisma.InputJsonValue,
            scopes,
            ...(input.jsonSchema != null ? { jsonSchema: input.jsonSchema as Prisma.InputJsonValue } : {}),
          },
        });
      } catch (error) {
        if (isUniqueViolation(error)) throw conflict(`an event type named "${name}" already exists`, "input.name");
        throw error;
      }
    },
  }),
);

builder.mutationField("updateEventType", (t) =>
  t.prismaField({
    type: "EventType",
    description: "Changes an event type's description, sample data, scopes or payload schema (admin only).",
    authScopes: { admin: true },
    args: {
      eventTypeId: t.arg.id({ required: true, description: "The event type to change." }),
      input: t.arg({ type: UpdateEventTypeInput, required: true, description: "The settings to change." }),
    },
    resolve: async (query, _root, { eventTypeId, input }, ctx) => {
      const id = requireId("eventTypeId", eventTypeId);
      const current = await ctx.prisma.eventType.findUnique({ where: { id }, select: { name: true, sampleData: true, jsonSchema: true } });
      if (!current) throw notFound(`event type ${id}`);
      if (isReservedEventName(current.name)) {
        throw badInput("eventTypeId", `event type "${current.name}" is one of Hookgate's operational events; it cannot be changed`);
      }
      if (input.sampleData === null) throw badInput("input.sampleData", "must not be null");
      const sampleData = input.sampleData ?? current.sampleData;
      const jsonSchema = input.jsonSchema === undefined ? current.jsonSchema : input.jsonSchema;
      checkSchemaAndSample(ctx, jsonSchema, sampleData, input.jsonSchema !== undefined ? "jsonSchema" : "sampleData");
      const data: Prisma.EventTypeUpdateInput = {};
      if (input.description != null) data.description = checkText("input.description", input.description, { max: 2000 });
      if (input.scopes != null) data.scopes = input.scopes.map((s, i) => checkText(`input.scopes[${i}]`, s, { min: 1, max: 200 }));
      if (input.sampleData != null) data.sampleData = input.sampleData as Prisma.InputJsonValue;
      if (input.jsonSchema !== undefined) {
        data.jsonSchema = input.jsonSchema === null ? Prisma.DbNull : (input.jsonSchema as Prisma.InputJsonValue);
        // Publishers cache schemas: a new version makes every one of them check again.
        data.jsonSchemaVersion = { increment: 1 };
      }
      return ctx.prisma.eventType.update({ ...query, where: { id }, data });
    },
  }),
);
