-- AlterTable
-- An event type may carry a JSON Schema (draft 2020-12) its payloads must match. Nullable, so
-- the previous release, which never reads it, keeps working.
ALTER TABLE "event_types" ADD COLUMN "json_schema" JSONB;
