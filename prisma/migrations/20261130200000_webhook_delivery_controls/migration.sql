-- CreateEnum
-- Delivery controls (README, "Ordering and rate limits"). Every new column is nullable or has a
-- constant default, so no row is rewritten and the previous release, which reads none of them,
-- keeps working (it sends FIFO webhooks' deliveries unordered and ignores rate limits).
CREATE TYPE "DeliveryOrdering" AS ENUM ('UNORDERED', 'FIFO');

-- CreateEnum
CREATE TYPE "FifoFailureAction" AS ENUM ('CONTINUE', 'PAUSE');

-- AlterTable
ALTER TABLE "webhooks" ADD COLUMN "ordering" "DeliveryOrdering" NOT NULL DEFAULT 'UNORDERED',
ADD COLUMN "fifo_on_failure" "FifoFailureAction" NOT NULL DEFAULT 'CONTINUE',
ADD COLUMN "max_deliveries_per_second" DOUBLE PRECISION,
ADD COLUMN "failing_notified_at" TIMESTAMPTZ(3);

-- AlterTable
-- A FIFO webhook's queue rows carry their place in line: the queuing transaction's id and the
-- event's id (the live feed's order). NULL for every other webhook's rows.
ALTER TABLE "delivery_queue" ADD COLUMN "fifo_tx" BIGINT,
ADD COLUMN "fifo_event" BIGINT;

-- CreateTable
-- A rate-limited webhook's next allowed send time, shared by every dispatcher (advanced inside
-- the claim statement). Its own table, and no foreign key: only claims lock these rows, so a
-- claim never waits on a webhook's row (updates, recording) and a deletion never waits on it.
CREATE TABLE "webhook_rate_state" (
    "webhook_id" INTEGER NOT NULL,
    "next_at" TIMESTAMPTZ(3) NOT NULL,
    "granted" INTEGER NOT NULL DEFAULT 0,
    "rate" DOUBLE PRECISION NOT NULL,

    CONSTRAINT "webhook_rate_state_pkey" PRIMARY KEY ("webhook_id")
);

-- CreateFunction
-- New deliveries of a FIFO webhook get their place in line as they are queued. One probe of
-- the (normally empty) partial index of FIFO webhooks per inserting statement is all that other
-- webhooks pay. The previous release's inserts run this same trigger.
CREATE OR REPLACE FUNCTION "hookgate_queue_new_deliveries"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM "webhooks" WHERE "ordering" = 'FIFO') THEN
    INSERT INTO "delivery_queue" ("delivery_id", "webhook_id", "due_at", "fifo_tx", "fifo_event")
    SELECT a."id", a."webhook_id", a."next_attempt_at",
           CASE WHEN w."id" IS NULL THEN NULL ELSE pg_current_xact_id()::text::bigint END,
           CASE WHEN w."id" IS NULL THEN NULL ELSE a."event_id" END
    FROM "added" a LEFT JOIN "webhooks" w ON w."id" = a."webhook_id" AND w."ordering" = 'FIFO'
    WHERE a."status" IN ('PENDING', 'RETRYING');
  ELSE
    INSERT INTO "delivery_queue" ("delivery_id", "webhook_id", "due_at")
    SELECT "id", "webhook_id", "next_attempt_at" FROM "added" WHERE "status" IN ('PENDING', 'RETRYING');
  END IF;
  RETURN NULL;
END $$;
