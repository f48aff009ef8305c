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
-- The queuing trigger, for both kinds of special webhook (20261130150000_pull_webhooks made the
-- PULL rule; this replaces it, so it keeps that rule beside FIFO's):
--  - a PULL webhook's row gets no due time (no claim, of this release or the previous one,
--    ever takes it) and the inserting transaction's id (its place in the order consumers get);
--  - a FIFO webhook's row gets its place in line (the inserting transaction, then the event);
--  - any other webhook's row is queued as before, due at its next_attempt_at.
-- Two probes of partial indexes of webhooks (normally empty) per inserting statement are all that
-- a plain webhook pays. The previous release's inserts run this same trigger.
CREATE OR REPLACE FUNCTION "hookgate_queue_new_deliveries"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM "webhooks" WHERE "ordering" = 'FIFO') OR EXISTS (SELECT 1 FROM "webhooks" WHERE "delivery_mode" = 'PULL') THEN
    INSERT INTO "delivery_queue" ("delivery_id", "webhook_id", "due_at", "tx_id", "fifo_tx", "fifo_event")
    SELECT a."id", a."webhook_id",
           CASE WHEN w."delivery_mode" = 'PULL' THEN NULL ELSE a."next_attempt_at" END,
           CASE WHEN w."delivery_mode" = 'PULL' THEN pg_current_xact_id()::text::bigint END,
           CASE WHEN w."delivery_mode" = 'PUSH' AND w."ordering" = 'FIFO' THEN pg_current_xact_id()::text::bigint END,
           CASE WHEN w."delivery_mode" = 'PUSH' AND w."ordering" = 'FIFO' THEN a."event_id" END
    FROM "added" a LEFT JOIN "webhooks" w ON w."id" = a."webhook_id" AND (w."ordering" = 'FIFO' OR w."delivery_mode" = 'PULL')
    WHERE a."status" IN ('PENDING', 'RETRYING');
  ELSE
    INSERT INTO "delivery_queue" ("delivery_id", "webhook_id", "due_at")
    SELECT "id", "webhook_id", "next_attempt_at" FROM "added" WHERE "status" IN ('PENDING', 'RETRYING');
  END IF;
  RETURN NULL;
END $$;
