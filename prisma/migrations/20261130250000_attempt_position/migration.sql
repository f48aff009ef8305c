-- A cursor for the live attempt log (deliveryAttempted(after:), issue 15). Expand only: the
-- previous release keeps working beside this one.

-- AlterTable
-- The id of the transaction that stored the attempt (pg_current_xact_id() as a bigint), as
-- events.tx_id: deliveryAttempted orders attempts by (tx_id, id) and passes one only once every
-- transaction below its tx_id has finished, so a subscriber resuming with `after` misses none and
-- sees none twice (attempt ids are drawn at insert, not in commit order). Added without a default,
-- then given one, so existing rows are not rewritten: they keep NULL and sort before every new row
-- (they all committed before this migration). Rows the previous release writes get the default too.
-- No index: the subscription walks the primary key from an id floor its cursor carries.
ALTER TABLE "delivery_attempts" ADD COLUMN "tx_id" BIGINT;

-- AlterTable
ALTER TABLE "delivery_attempts" ALTER COLUMN "tx_id" SET DEFAULT (pg_current_xact_id()::text::bigint);
