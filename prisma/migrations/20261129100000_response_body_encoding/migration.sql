-- Response bodies that are not UTF-8 text without NUL (binary, UTF-16, invalid UTF-8) are kept as
-- base64; this column says so ("base64"), NULL meaning the body is the bytes as text. Expand only:
-- a nullable column without a default (no table rewrite); the previous release neither reads nor
-- writes it, and its rows (NULL) mean what they always meant.
-- AlterTable
ALTER TABLE "delivery_attempts" ADD COLUMN "response_body_encoding" TEXT;
