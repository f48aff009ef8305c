-- AlterTable
-- Portal sessions are API tokens that expire: expires_at (null: valid until revoked). A customer
-- session minted by a service is scoped to that service (scope_service_id): it sees only the
-- customer's events and registrations on that service's webhooks. Nullable columns only: the
-- previous release neither reads nor writes them (it would accept a session past its expiry
-- until it is revoked; sessions are minted by this release only).
ALTER TABLE "api_tokens" ADD COLUMN "expires_at" TIMESTAMPTZ(3),
ADD COLUMN "scope_service_id" INTEGER;
