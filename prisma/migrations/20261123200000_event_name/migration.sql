-- AlterTable
-- The event type's name as published, kept on the event: live subscribers receive events
-- without a store read, and the name an event was published under does not change later.
ALTER TABLE "events" ADD COLUMN "event_name" TEXT;

-- Backfill
UPDATE "events" SET "event_name" = t."name" FROM "event_types" t WHERE t."id" = "events"."event_type_id";

-- AlterTable
ALTER TABLE "events" ALTER COLUMN "event_name" SET NOT NULL;
