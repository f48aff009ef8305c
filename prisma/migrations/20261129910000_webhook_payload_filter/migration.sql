-- AlterTable
-- A webhook may carry a payload filter: a PostgreSQL SQL/JSON path predicate (text, as the API
-- took it and checked it), evaluated by the publish statement against each event's payload
-- (`payload @@ payload_filter::jsonpath`). Nullable: the previous release reads no such column,
-- no row is rewritten, and a webhook without a filter routes as before.
ALTER TABLE "webhooks" ADD COLUMN "payload_filter" TEXT;
