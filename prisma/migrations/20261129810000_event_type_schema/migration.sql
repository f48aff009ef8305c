-- AlterTable
-- An event type may carry a JSON Schema (draft 2020-12) its payloads must match. Kept as the
-- text it was given (json, not jsonb): publishers compare it to recompile only when it changes.
-- Nullable, so the previous release, which never reads it, keeps working.
ALTER TABLE "event_types" ADD COLUMN "json_schema" JSON;
