-- OAuth 2.0 clients, authorization codes, grants (refresh-token families)
-- and revoked access-token IDs (package oauth). Conventions as in 0001.

CREATE TABLE oauth_clients (
	id         TEXT {{bin}} PRIMARY KEY,
	name       TEXT NOT NULL,
	type       TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	-- Bumped by every change; its row lock serializes secret rotations.
	version    BIGINT NOT NULL
);

CREATE TABLE oauth_client_redirect_uris (
	client_id TEXT {{bin}} NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
	position  INTEGER NOT NULL,
	uri       TEXT NOT NULL,
	PRIMARY KEY (client_id, position)
);

CREATE TABLE oauth_client_grant_types (
	client_id  TEXT {{bin}} NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
	position   INTEGER NOT NULL,
	grant_type TEXT NOT NULL,
	PRIMARY KEY (client_id, position)
);

-- kind is 'allowed' (Client.Scopes) or 'default' (Client.DefaultScopes).
CREATE TABLE oauth_client_scopes (
	client_id TEXT {{bin}} NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
	kind      TEXT NOT NULL,
	scope     TEXT {{bin}} NOT NULL,
	PRIMARY KEY (client_id, kind, scope)
);

CREATE TABLE oauth_client_secrets (
	client_id  TEXT {{bin}} NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
	hash       {{bytes}} NOT NULL,
	created_at BIGINT NOT NULL,
	expires_at BIGINT,
	PRIMARY KEY (client_id, hash)
);

CREATE TABLE oauth_codes (
	hash           {{bytes}} PRIMARY KEY,
	client_id      TEXT {{bin}} NOT NULL,
	subject        TEXT {{bin}} NOT NULL,
	redirect_uri   TEXT NOT NULL,
	code_challenge TEXT NOT NULL,
	grant_id       TEXT {{bin}} NOT NULL,
	created_at     BIGINT NOT NULL,
	expires_at     BIGINT NOT NULL,
	used_at        BIGINT
);

CREATE INDEX oauth_codes_by_expiry ON oauth_codes (expires_at);

CREATE TABLE oauth_code_scopes (
	code_hash {{bytes}} NOT NULL REFERENCES oauth_codes (hash) ON DELETE CASCADE,
	scope     TEXT {{bin}} NOT NULL,
	PRIMARY KEY (code_hash, scope)
);

-- A grant revoked before it was created is stored as a tombstone with an
-- empty client_id, so the creation fails.
CREATE TABLE oauth_grants (
	id         TEXT {{bin}} PRIMARY KEY,
	client_id  TEXT {{bin}} NOT NULL,
	subject    TEXT {{bin}} NOT NULL,
	created_at BIGINT NOT NULL,
	expires_at BIGINT,
	revoked_at BIGINT,
	-- Bumped by every rotation and revocation: the compare-and-swap that
	-- serializes changes to the family (the head is the one token of the
	-- grant with rotated_at NULL).
	version    BIGINT NOT NULL
);

CREATE INDEX oauth_grants_by_expiry ON oauth_grants (expires_at);

CREATE TABLE oauth_grant_scopes (
	grant_id TEXT {{bin}} NOT NULL REFERENCES oauth_grants (id) ON DELETE CASCADE,
	scope    TEXT {{bin}} NOT NULL,
	PRIMARY KEY (grant_id, scope)
);

CREATE TABLE oauth_refresh_tokens (
	hash                    {{bytes}} PRIMARY KEY,
	grant_id                TEXT {{bin}} NOT NULL REFERENCES oauth_grants (id) ON DELETE CASCADE,
	issued_at               BIGINT NOT NULL,
	rotated_at              BIGINT,
	access_token_id         TEXT {{bin}} NOT NULL,
	access_token_expires_at BIGINT
);

CREATE INDEX oauth_refresh_tokens_by_grant ON oauth_refresh_tokens (grant_id);

CREATE TABLE oauth_revoked_tokens (
	jti        TEXT {{bin}} PRIMARY KEY,
	expires_at BIGINT NOT NULL
);

CREATE INDEX oauth_revoked_tokens_by_expiry ON oauth_revoked_tokens (expires_at);
