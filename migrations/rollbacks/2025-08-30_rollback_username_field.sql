-- Undoes 2025-08-30_add_username_field (soft delete).
-- DESTRUCTIVE: without is_deleted, soft-deleted accounts would look active again, so they
-- are deleted for good first, with their prompts, templates, API keys and reset tokens
-- (ON DELETE CASCADE). Dropping deleted_at loses every deletion date as well.
--
-- Run with psql, outside a transaction block (DROP INDEX CONCURRENTLY).

DELETE FROM users WHERE is_deleted;

DROP INDEX CONCURRENTLY IF EXISTS idx_users_deleted_at;
DROP INDEX CONCURRENTLY IF EXISTS email_active_idx;

ALTER TABLE users DROP COLUMN IF EXISTS is_deleted;
ALTER TABLE users DROP COLUMN IF EXISTS deleted_at;
