-- PromptSculptor: the foundational schema.
-- Accounts, the prompts users generate, prompt templates (system and custom), the API keys
-- users bring for AI services (stored encrypted), and password reset tokens.

CREATE TABLE users (
  id serial PRIMARY KEY,
  username text NOT NULL,
  email text NOT NULL,
  password_hash text NOT NULL,
  display_name text,
  email_verified boolean NOT NULL DEFAULT false,
  created_at timestamp NOT NULL DEFAULT now(),
  updated_at timestamp NOT NULL DEFAULT now(),
  CONSTRAINT users_email_unique UNIQUE (email),
  CONSTRAINT users_username_unique UNIQUE (username)
);

-- System templates have no owner (user_id IS NULL); custom ones belong to a user.
CREATE TABLE templates (
  id serial PRIMARY KEY,
  user_id integer REFERENCES users (id) ON DELETE CASCADE,
  name text NOT NULL,
  description text,
  type text NOT NULL,
  content text NOT NULL,
  is_default boolean NOT NULL DEFAULT false,
  created_at timestamp NOT NULL DEFAULT now()
);

CREATE TABLE prompts (
  id serial PRIMARY KEY,
  user_id integer REFERENCES users (id) ON DELETE CASCADE,
  template_id integer REFERENCES templates (id) ON DELETE SET NULL,
  title text NOT NULL,
  natural_language_input text NOT NULL,
  generated_prompt text NOT NULL,
  template_type text NOT NULL,
  target_model text NOT NULL,
  is_favorite boolean NOT NULL DEFAULT false,
  created_at timestamp NOT NULL DEFAULT now(),
  updated_at timestamp NOT NULL DEFAULT now()
);

-- Keys are encrypted by the application before they reach the database.
CREATE TABLE user_api_keys (
  id serial PRIMARY KEY,
  user_id integer NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  service text NOT NULL,
  encrypted_key text NOT NULL,
  key_name text,
  created_at timestamp NOT NULL DEFAULT now()
);

-- Only a hash of each token is stored; a token is good once, until expires_at.
CREATE TABLE password_reset_tokens (
  id serial PRIMARY KEY,
  user_id integer NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  token text NOT NULL,
  expires_at timestamp NOT NULL,
  used boolean NOT NULL DEFAULT false,
  created_at timestamp NOT NULL DEFAULT now()
);
