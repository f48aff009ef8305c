-- hookgate:no-transaction
-- CreateIndex
-- The FIFO webhooks (normally none): what the queueing trigger probes once per statement.
CREATE INDEX CONCURRENTLY IF NOT EXISTS "webhooks_fifo_idx" ON "webhooks"("id") WHERE "ordering" = 'FIFO';

