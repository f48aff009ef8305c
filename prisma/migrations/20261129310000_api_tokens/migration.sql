-- CreateTable
-- Service and customer API tokens: several per principal, labelled, revocable, with a last-used
-- time. Only SHA-256 hashes are kept. The old single-token columns (services.token_hash,
-- customers.token_hash) stay: the previous release still reads and writes them, and the gateway
-- accepts a token found there that has no row here yet (backfill.sql copies them; the gateway
-- copies one itself the first time it is used or its principal's tokens are listed). Revoking a
-- token that is also in the old column overwrites the column with an unusable value.
CREATE TABLE "api_tokens" (
    "id" SERIAL NOT NULL,
    "service_id" INTEGER,
    "customer_id" INTEGER,
    "label" TEXT NOT NULL,
    "token_hash" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_used_at" TIMESTAMPTZ(3),
    "revoked_at" TIMESTAMPTZ(3),

    CONSTRAINT "api_tokens_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "api_tokens_token_hash_key" ON "api_tokens"("token_hash");

-- CreateIndex
CREATE INDEX "api_tokens_service_id_idx" ON "api_tokens"("service_id");

-- CreateIndex
CREATE INDEX "api_tokens_customer_id_idx" ON "api_tokens"("customer_id");

-- AddForeignKey
ALTER TABLE "api_tokens" ADD CONSTRAINT "api_tokens_service_id_fkey" FOREIGN KEY ("service_id") REFERENCES "services"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "api_tokens" ADD CONSTRAINT "api_tokens_customer_id_fkey" FOREIGN KEY ("customer_id") REFERENCES "customers"("id") ON DELETE CASCADE ON UPDATE CASCADE;
