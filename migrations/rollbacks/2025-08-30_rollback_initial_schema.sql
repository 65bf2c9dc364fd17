-- Undoes 2025-08-30_initial_schema: drops every table, and with them ALL application data.
-- Take a full backup first (pg_dump); there is no way back from this script.

DROP TABLE IF EXISTS password_reset_tokens;
DROP TABLE IF EXISTS user_api_keys;
DROP TABLE IF EXISTS prompts;
DROP TABLE IF EXISTS templates;
DROP TABLE IF EXISTS users;
