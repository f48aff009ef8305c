-- Publishing without a lock shared by every publisher (issue 12) and payloads kept as received
-- (issue 13, item 10). Expand only: the previous release keeps working beside this one.

-- AlterTable
-- The id of the transaction that stored the event (pg_current_xact_id(), the 64-bit xid8, as a
-- bigint so every client reads it as a number). Live subscriptions order events by (tx_id, id)
-- and pass an event only once every transaction below its tx_id has finished (the snapshot's
-- xmin): see "Why nothing is missed" in README.md. Added without a default, then given one, so
-- existing rows are not rewritten: they keep NULL and sort before every new row (they all
-- committed before this migration, which waits for their transactions). Rows the previous
-- release writes from now on get the default too.
ALTER TABLE "events" ADD COLUMN "tx_id" BIGINT;

-- AlterTable
ALTER TABLE "events" ALTER COLUMN "tx_id" SET DEFAULT (pg_current_xact_id()::text::bigint);

-- AlterTable
-- The payload's JSON text as the gateway received it (jsonb reorders keys and rewrites numbers).
-- NULL for rows of the previous release, which are read from "payload"; new rows fill both.
ALTER TABLE "events" ADD COLUMN "payload_text" TEXT;
