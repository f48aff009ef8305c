-- hookgate:no-transaction
-- CreateIndex
-- A consumer's walk: its webhook's rows without a due time, in order. Partial, so rows the
-- dispatcher claims (they have a due_at) are never in it: the hot path pays nothing for it.
CREATE INDEX CONCURRENTLY IF NOT EXISTS "delivery_queue_pull_order_idx" ON "delivery_queue" ("webhook_id", "tx_id", "delivery_id") WHERE "due_at" IS NULL;
