-- Undoes 2025-08-30_add_favorites_system: email and username unique again across ALL
-- accounts, deleted ones included.
-- MAY FAIL: while a deleted account and an active one share an email or a username, adding
-- the constraints fails. Find the duplicates first:
--   SELECT email FROM users GROUP BY email HAVING count(*) > 1;
--   SELECT username FROM users GROUP BY username HAVING count(*) > 1;
-- and resolve them (purge or rename the deleted accounts) before running this script.
--
-- The constraints come back before the partial indexes go, so uniqueness is enforced
-- throughout. Run with psql, outside a transaction block (DROP INDEX CONCURRENTLY).

ALTER TABLE users ADD CONSTRAINT users_email_unique UNIQUE (email);
ALTER TABLE users ADD CONSTRAINT users_username_unique UNIQUE (username);

DROP INDEX CONCURRENTLY IF EXISTS username_unique_active_idx;
DROP INDEX CONCURRENTLY IF EXISTS email_unique_active_idx;
