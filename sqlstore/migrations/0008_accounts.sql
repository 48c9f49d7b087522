-- Accounts (issue 14): which account owns an OAuth client, the sign-in
-- sessions of the Developer Portal, and the per-credential request counts
-- and recent failures it shows. Conventions as in 0001. Every change here
-- adds; no existing row changes.

-- The account (a user ID) that owns the client; '' for a client the
-- operator manages, as every client registered before this migration is.
ALTER TABLE oauth_clients ADD COLUMN owner TEXT {{bin}} NOT NULL DEFAULT '';

CREATE INDEX oauth_clients_by_owner ON oauth_clients (owner, id);

-- Sign-in sessions (Store.Sessions). hash is a hash of the session ID the
-- browser holds (never the ID itself), so a copy of the table signs no one
-- in. A session ends at ends_at, the earlier of expires_at (absolute) and
-- last_seen_at + idle_timeout (microseconds), kept in one column so that
-- lookups and pruning each compare one indexed value.
CREATE TABLE user_sessions (
	hash         {{bytes}} PRIMARY KEY,
	user_id      TEXT {{bin}} NOT NULL REFERENCES audexum_users (id) ON DELETE CASCADE,
	created_at   BIGINT NOT NULL,
	last_seen_at BIGINT NOT NULL,
	idle_timeout BIGINT NOT NULL,
	expires_at   BIGINT NOT NULL,
	ends_at      BIGINT NOT NULL
);

CREATE INDEX user_sessions_by_user ON user_sessions (user_id, created_at);
CREATE INDEX user_sessions_by_end ON user_sessions (ends_at);

-- Successful authentications counted per credential (an API key ID or an
-- OAuth client ID) and hour (its start): flushes add to the count, never a
-- row per request. Rows older than the retention are pruned in batches.
CREATE TABLE request_counts (
	credential_id TEXT {{bin}} NOT NULL,
	hour          BIGINT NOT NULL,
	n             BIGINT NOT NULL,
	PRIMARY KEY (credential_id, hour)
);

CREATE INDEX request_counts_by_hour ON request_counts (hour);

-- The failure counts of one credential, for its monitoring page.
CREATE INDEX audit_failures_by_key ON audit_failures (key_id, minute);

-- The latest failures of each credential known to exist: when, why and from
-- which client network (an IPv4 address or an IPv6 /64), never a
-- credential. Each flush keeps the newest few rows per credential and
-- prunes old ones, so the table stays bounded whatever the traffic.
CREATE TABLE recent_failures (
	seq           {{serial}},
	credential_id TEXT {{bin}} NOT NULL,
	at            BIGINT NOT NULL,
	reason        TEXT NOT NULL,
	network       TEXT NOT NULL
);

CREATE INDEX recent_failures_by_credential ON recent_failures (credential_id, at);
CREATE INDEX recent_failures_by_at ON recent_failures (at);
