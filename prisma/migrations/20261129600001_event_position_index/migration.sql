-- hookgate:no-transaction
-- CreateIndex
-- The live feed's walk: events after a position (tx_id, id), rows of the previous release
-- (tx_id NULL) first.
CREATE INDEX CONCURRENTLY IF NOT EXISTS "events_position_idx" ON "events" ((coalesce("tx_id", 0)), "id");
