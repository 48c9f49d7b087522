-- API keys (package apikey) and the change log that lets other processes
-- drop cached copies of changed rows.
--
-- Conventions for every table of this package:
--   * times are BIGINT microseconds since the Unix epoch, UTC; NULL means
--     "never" / "not set";
--   * identifiers and hashes compare byte-wise (case-sensitive);
--   * {{...}} words are the few spellings that differ between SQLite and
--     PostgreSQL (see dialect.go).

CREATE TABLE api_keys (
	id             TEXT {{bin}} PRIMARY KEY,
	hash           {{bytes}} NOT NULL,
	pepper_version INTEGER NOT NULL,
	env            TEXT NOT NULL,
	name           TEXT NOT NULL,
	description    TEXT NOT NULL,
	owner          TEXT {{bin}} NOT NULL,
	created_at     BIGINT NOT NULL,
	expires_at     BIGINT,
	revoked_at     BIGINT,
	revoke_reason  TEXT NOT NULL,
	rotated_from   TEXT {{bin}},
	replaced_by    TEXT {{bin}},
	last_used_at   BIGINT
);

CREATE INDEX api_keys_by_created ON api_keys (created_at, id);
CREATE INDEX api_keys_by_owner ON api_keys (owner, created_at, id);
CREATE INDEX api_keys_by_expiry ON api_keys (expires_at);

CREATE TABLE api_key_scopes (
	key_id TEXT {{bin}} NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
	scope  TEXT {{bin}} NOT NULL,
	PRIMARY KEY (key_id, scope)
);

-- One row per change another process may have cached (a revocation, a
-- rotation, a client update). seq only grows; readers remember the last
-- seq they saw and ask for newer rows. Old rows are pruned.
CREATE TABLE changes (
	seq  {{serial}},
	kind TEXT NOT NULL,
	id   TEXT {{bin}} NOT NULL,
	at   BIGINT NOT NULL
);
