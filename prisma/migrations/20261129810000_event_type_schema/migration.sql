-- AlterTable
-- An event type may carry a JSON Schema (draft 2020-12) its payloads must match, and a version
-- that every change of the schema increments: publishers cache schemas and the publish statement
-- refuses to store an event checked against a version that is no longer current. Both columns
-- are nullable or have a constant default, so the previous release, which reads neither, keeps
-- working and no row is rewritten.
ALTER TABLE "event_types" ADD COLUMN "json_schema" JSONB;
-- AlterTable
ALTER TABLE "event_types" ADD COLUMN "json_schema_version" INTEGER NOT NULL DEFAULT 0;
