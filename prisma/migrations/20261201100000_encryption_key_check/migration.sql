-- CreateTable
-- A value sealed with HOOKGATE_ENCRYPTION_KEY at first start (one row, name 'webhook-secrets'):
-- a process whose key does not open it refuses to start instead of failing every delivery. The
-- previous release does not know the table and never reads it.
CREATE TABLE "encryption_key_check" (
    "name" TEXT NOT NULL,
    "sealed" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "encryption_key_check_pkey" PRIMARY KEY ("name")
);
