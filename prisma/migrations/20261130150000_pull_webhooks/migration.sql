-- Pulled webhooks (README, "Pull queue"): a webhook whose deliveries nobody sends. They are
-- routed and queued as any other's (same publish statement, same delivery_queue), and the
-- consumer takes them with receiveNotifications. Expand only. The previous release never sees
-- a pulled delivery as due: the queue rows of a PULL webhook never get a due_at (the two
-- functions below see to that whoever writes them, this release or the previous one), and every
-- claim walks only rows with due_at <= now.

-- CreateEnum
CREATE TYPE "WebhookDeliveryMode" AS ENUM ('PUSH', 'PULL');

-- AlterTable
-- A constant default: no row is rewritten; every existing webhook is PUSH, as it always was.
ALTER TABLE "webhooks" ADD COLUMN "delivery_mode" "WebhookDeliveryMode" NOT NULL DEFAULT 'PUSH';

-- AlterTable
-- A pulled delivery's place in the feed's order: the id of the transaction that queued it (the
-- event's own tx_id for a publish), then its delivery id. NULL on every push row.
ALTER TABLE "delivery_queue" ADD COLUMN "tx_id" BIGINT;

-- AlterTable
-- The receipt a consumer holds while lease_until runs: a new number at every hand-out, so a
-- consumer whose lease ran out (and whose delivery another consumer now holds) cannot
-- acknowledge it for the other one. NULL on every push row.
ALTER TABLE "delivery_queue" ADD COLUMN "receipt_id" BIGINT;

-- CreateSequence
CREATE SEQUENCE "delivery_queue_receipt_id_seq";

-- CreateFunction
-- Every new delivery waiting for an attempt is queued, whoever inserts it (publish, replay, test
-- event, the previous release's publisher): a PULL webhook's without a due time (no claim ever
-- takes it) and with the inserting transaction's id (its place in the order consumers get).
CREATE OR REPLACE FUNCTION "hookgate_queue_new_deliveries"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO "delivery_queue" ("delivery_id", "webhook_id", "due_at", "tx_id")
  SELECT a."id", a."webhook_id",
         CASE WHEN w."delivery_mode" = 'PULL' THEN NULL ELSE a."next_attempt_at" END,
         CASE WHEN w."delivery_mode" = 'PULL' THEN pg_current_xact_id()::text::bigint END
  FROM "added" a JOIN "webhooks" w ON w."id" = a."webhook_id"
  WHERE a."status" IN ('PENDING', 'RETRYING');
  RETURN NULL;
END $$;

-- CreateFunction
-- A statement that makes waiting rows due (resuming a re-enabled webhook, retryDelivery, in
-- this release or the previous one) leaves a PULL webhook's rows alone: the row is not updated
-- at all, so its receipt and lease stay, and retryDelivery reports that nothing was queued.
CREATE FUNCTION "hookgate_keep_pulled_undue"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM "webhooks" WHERE "id" = NEW."webhook_id" AND "delivery_mode" = 'PULL') THEN
    RETURN NULL;
  END IF;
  RETURN NEW;
END $$;

-- CreateTrigger
-- Only rows going from no due time to one: claims and records (which move due rows) never fire it.
CREATE TRIGGER "delivery_queue_pulled_undue" BEFORE UPDATE OF "due_at" ON "delivery_queue"
FOR EACH ROW WHEN (OLD."due_at" IS NULL AND NEW."due_at" IS NOT NULL) EXECUTE FUNCTION "hookgate_keep_pulled_undue"();
