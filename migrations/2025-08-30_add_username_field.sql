-- Soft delete for user accounts.
-- The file name is historical: this migration has always implemented soft delete (usernames
-- come with the initial schema). Databases recorded the name, so it stays.
--
-- Run with psql, outside a transaction block: CREATE INDEX CONCURRENTLY cannot run inside one.

ALTER TABLE users ADD COLUMN deleted_at timestamp;

-- The constant default marks every existing user active (is_deleted = false) without
-- rewriting the table.
ALTER TABLE users ADD COLUMN is_deleted boolean NOT NULL DEFAULT false;

-- Lookups of active users by email.
CREATE INDEX CONCURRENTLY email_active_idx ON users (email, is_deleted);

-- The cleanup job that purges accounts deleted longer ago than the retention period.
CREATE INDEX CONCURRENTLY idx_users_deleted_at ON users (deleted_at);
