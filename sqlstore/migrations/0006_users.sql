-- End users: people who sign in with a password (Store.Users). Conventions
-- as in 0001.
--
-- Versions of audexum serve before this migration created this table
-- themselves, with created_at in milliseconds: IF NOT EXISTS keeps their
-- rows, and the UPDATE brings those times to microseconds (on a table
-- created here it changes nothing).
CREATE TABLE IF NOT EXISTS audexum_users (
	id            TEXT {{bin}} PRIMARY KEY,
	username      TEXT {{bin}} NOT NULL UNIQUE,
	password_hash TEXT NOT NULL,
	created_at    BIGINT NOT NULL
);

UPDATE audexum_users SET created_at = created_at * 1000;
