-- hookgate:no-transaction
-- CreateIndex
-- A FIFO webhook's line, in order (its head is the first entry). Only FIFO rows are in it: the
-- other webhooks' queue rows cost it nothing.
CREATE INDEX CONCURRENTLY IF NOT EXISTS "delivery_queue_fifo_idx" ON "delivery_queue"("webhook_id", "fifo_tx", "fifo_event", "delivery_id") WHERE "fifo_tx" IS NOT NULL;
