-- Session storage for OAuth and login sessions, and the indexes the admin analytics, the
-- password reset flow and the template system query by.
-- user_sessions has the layout connect-pg-simple expects (sid, sess, expire).
--
-- Run with psql, outside a transaction block (CREATE INDEX CONCURRENTLY on existing tables).

CREATE TABLE user_sessions (
  sid varchar NOT NULL,
  sess json NOT NULL,
  expire timestamp(6) NOT NULL,
  CONSTRAINT user_sessions_pkey PRIMARY KEY (sid)
);

-- Expired-session cleanup.
CREATE INDEX user_sessions_expire_idx ON user_sessions (expire);

-- Password reset: token validation, a user's tokens, cleanup of expired tokens.
CREATE INDEX CONCURRENTLY password_reset_tokens_token_idx ON password_reset_tokens (token);
CREATE INDEX CONCURRENTLY password_reset_tokens_user_id_idx ON password_reset_tokens (user_id);
CREATE INDEX CONCURRENTLY password_reset_tokens_expires_at_idx
  ON password_reset_tokens (expires_at);

-- Prompts: a user's recent activity, their favorites, usage by template type.
CREATE INDEX CONCURRENTLY prompts_user_id_created_idx ON prompts (user_id, created_at DESC);
CREATE INDEX CONCURRENTLY prompts_user_favorite_idx
  ON prompts (user_id, created_at DESC) WHERE is_favorite = true;
CREATE INDEX CONCURRENTLY prompts_template_type_idx ON prompts (template_type);

-- Templates: default templates by type, a user's own templates.
CREATE INDEX CONCURRENTLY templates_type_default_idx ON templates (type, is_default);
CREATE INDEX CONCURRENTLY templates_user_id_created_idx ON templates (user_id, created_at DESC);

-- API keys by owner.
CREATE INDEX CONCURRENTLY user_api_keys_user_id_idx ON user_api_keys (user_id);
