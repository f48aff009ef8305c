-- The dispatcher's queue moves out of the deliveries table. A delivery used to be rewritten
-- twice per attempt (claimed, then moved on), and because the claim index covered
-- next_attempt_at, each rewrite added an entry to all four of its indexes. Now:
--  - delivery_queue holds one narrow row per delivery still to be attempted (PENDING or
--    RETRYING): when it is due, and the lease of the worker sending it. Claims walk and rewrite
--    only this small table; a delivery that succeeds or fails for good leaves it.
--  - deliveries keeps the history (status, attempt count, next attempt as shown in the API);
--    no index covers a column the dispatcher changes, so moving a delivery on is an update in
--    place (HOT) where its page has room.
--  - delivery_attempts no longer has a foreign key to deliveries: the check cost a lookup and a
--    row lock per logged attempt. The dispatcher logs an attempt only for a delivery it has just
--    updated or locked in the same statement, and the triggers below delete a delivery's queue row
--    and attempts with it, as the cascade did.

-- LockTable
-- Nothing may publish, claim or record between the copy into the queue below and the end of this
-- migration (gateways of the previous version may still be running): a delivery written
-- meanwhile would have no queue row, a delivery recorded meanwhile would keep one. Publishers and
-- workers wait for the migration instead; reads go on.
LOCK TABLE "deliveries" IN SHARE ROW EXCLUSIVE MODE;

-- CreateTable
CREATE TABLE "delivery_queue" (
    "delivery_id" BIGINT NOT NULL,
    "webhook_id" INTEGER NOT NULL,
    "due_at" TIMESTAMPTZ(3),
    "lease_until" TIMESTAMPTZ(3),

    CONSTRAINT "delivery_queue_pkey" PRIMARY KEY ("delivery_id")
);

-- CreateIndex
-- The claim walks this index in order: due first, oldest first. A parked delivery (its webhook
-- disabled) has no due_at; a leased one is due again when its lease ends.
CREATE INDEX "delivery_queue_due_at_delivery_id_idx" ON "delivery_queue"("due_at", "delivery_id");

-- AlterTable
-- Every row is rewritten at least twice and then deleted: vacuum it early.
ALTER TABLE "delivery_queue" SET (fillfactor = 70, autovacuum_vacuum_scale_factor = 0.01, autovacuum_analyze_scale_factor = 0.01);

-- InsertRows
INSERT INTO "delivery_queue" ("delivery_id", "webhook_id", "due_at", "lease_until")
SELECT "id", "webhook_id", "next_attempt_at", "lease_until" FROM "deliveries" WHERE "status" IN ('PENDING', 'RETRYING');

-- DropIndex
DROP INDEX "deliveries_next_attempt_at_id_idx";

-- AlterTable
ALTER TABLE "deliveries" DROP COLUMN "lease_until";

-- AlterTable
-- Room on each page for the one rewrite most deliveries get (their outcome), in place.
ALTER TABLE "deliveries" SET (fillfactor = 50);

-- DropForeignKey
ALTER TABLE "delivery_attempts" DROP CONSTRAINT "delivery_attempts_delivery_id_fkey";

-- CreateFunction
-- Every new delivery waiting for an attempt is queued, whoever inserts it (publish, replay,
-- test event): one statement per inserting statement.
CREATE FUNCTION "hookgate_queue_new_deliveries"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO "delivery_queue" ("delivery_id", "webhook_id", "due_at")
  SELECT "id", "webhook_id", "next_attempt_at" FROM "added" WHERE "status" IN ('PENDING', 'RETRYING');
  RETURN NULL;
END $$;

-- CreateTrigger
CREATE TRIGGER "deliveries_queue_new" AFTER INSERT ON "deliveries"
REFERENCING NEW TABLE AS "added" FOR EACH STATEMENT EXECUTE FUNCTION "hookgate_queue_new_deliveries"();

-- CreateFunction
-- What the foreign key's cascade did, in two steps. The queue row goes with its delivery: a row
-- trigger runs once the delivery's row is locked, so a deletion locks the delivery and then its
-- queue row. Everything else that touches both (the dispatcher's record statement, retryDelivery,
-- parking) locks them in that same order, so none of them deadlocks with a deletion.
CREATE FUNCTION "hookgate_unqueue_deleted_delivery"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM "delivery_queue" WHERE "delivery_id" = OLD."id";
  RETURN OLD;
END $$;

-- CreateTrigger
CREATE TRIGGER "deliveries_unqueue_deleted" BEFORE DELETE ON "deliveries"
FOR EACH ROW EXECUTE FUNCTION "hookgate_unqueue_deleted_delivery"();

-- CreateFunction
-- The attempts go after their deliveries: a dispatcher logging an attempt holds a lock on the
-- delivery until it commits, so by the time the deletion runs, this statement sees that attempt.
-- (= ANY(ARRAY(...)) keeps it an index lookup, however large the log.)
CREATE FUNCTION "hookgate_forget_deleted_attempts"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM "delivery_attempts" WHERE "delivery_id" = ANY(ARRAY(SELECT "id" FROM "removed"));
  RETURN NULL;
END $$;

-- CreateTrigger
CREATE TRIGGER "deliveries_forget_deleted" AFTER DELETE ON "deliveries"
REFERENCING OLD TABLE AS "removed" FOR EACH STATEMENT EXECUTE FUNCTION "hookgate_forget_deleted_attempts"();
