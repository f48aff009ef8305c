-- hookgate:no-transaction
-- CreateIndex
-- Acknowledgements find their rows by receipt; push rows have none, so are never in it.
CREATE INDEX CONCURRENTLY IF NOT EXISTS "delivery_queue_receipt_id_idx" ON "delivery_queue" ("receipt_id") WHERE "receipt_id" IS NOT NULL;
