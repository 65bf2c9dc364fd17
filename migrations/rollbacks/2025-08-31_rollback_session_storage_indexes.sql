-- Undoes 2025-08-31_add_session_storage_indexes.
-- DESTRUCTIVE: dropping user_sessions deletes every session, which logs every user out
-- (OAuth logins included). Without the indexes, the admin dashboard, password resets and
-- template lookups get much slower.
--
-- Run with psql, outside a transaction block (DROP INDEX CONCURRENTLY).

DROP INDEX CONCURRENTLY IF EXISTS user_api_keys_user_id_idx;
DROP INDEX CONCURRENTLY IF EXISTS templates_user_id_created_idx;
DROP INDEX CONCURRENTLY IF EXISTS templates_type_default_idx;
DROP INDEX CONCURRENTLY IF EXISTS prompts_template_type_idx;
DROP INDEX CONCURRENTLY IF EXISTS prompts_user_favorite_idx;
DROP INDEX CONCURRENTLY IF EXISTS prompts_user_id_created_idx;
DROP INDEX CONCURRENTLY IF EXISTS password_reset_tokens_expires_at_idx;
DROP INDEX CONCURRENTLY IF EXISTS password_reset_tokens_user_id_idx;
DROP INDEX CONCURRENTLY IF EXISTS password_reset_tokens_token_idx;

-- Its own index (user_sessions_expire_idx) goes with the table.
DROP TABLE IF EXISTS user_sessions;
