-- CreateTable
-- Where the background pruner has got to in an append-only log it walks in id order (the
-- attempt log, whose bodies it clears): it resumes there instead of scanning from the start.
CREATE TABLE "retention_state" (
    "name" TEXT NOT NULL,
    "position" BIGINT NOT NULL DEFAULT 0,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "retention_state_pkey" PRIMARY KEY ("name")
);
