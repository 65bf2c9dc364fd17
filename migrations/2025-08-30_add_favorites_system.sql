-- Lets users re-register with the email (or username) of a deleted account.
-- The file name is historical: this migration is about uniqueness, not favorites (the
-- favorite flag comes with the initial schema). Databases recorded the name, so it stays.
--
-- Email and username stay unique among active users only (is_deleted = false). The partial
-- indexes are built before the global constraints go, so uniqueness is enforced throughout.
-- Run with psql, outside a transaction block (CREATE INDEX CONCURRENTLY).

CREATE UNIQUE INDEX CONCURRENTLY email_unique_active_idx
  ON users (email) WHERE is_deleted = false;
CREATE UNIQUE INDEX CONCURRENTLY username_unique_active_idx
  ON users (username) WHERE is_deleted = false;

ALTER TABLE users DROP CONSTRAINT users_email_unique;
ALTER TABLE users DROP CONSTRAINT users_username_unique;
