-- hookgate:no-transaction
-- CreateIndex
-- The PULL webhooks (normally few): what the queuing trigger probes once per statement.
CREATE INDEX CONCURRENTLY IF NOT EXISTS "webhooks_pull_idx" ON "webhooks"("id") WHERE "delivery_mode" = 'PULL';
