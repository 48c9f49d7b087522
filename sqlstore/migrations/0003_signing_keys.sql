-- Signing keys of the jwt key set, shared by every instance. Conventions
-- as in 0001.

-- private_key is PKCS #8 DER when kek_id is NULL, else AES-256-GCM sealed
-- (nonce || ciphertext || tag) under the key-encryption key kek_id names.
CREATE TABLE signing_keys (
	id           TEXT {{bin}} PRIMARY KEY,
	-- Order of the key in the saved set, kept so every instance loads
	-- (and publishes) the set in the same order.
	position     INTEGER NOT NULL,
	algorithm    TEXT NOT NULL,
	private_key  {{bytes}} NOT NULL,
	kek_id       TEXT,
	created_at   BIGINT NOT NULL,
	activated_at BIGINT,
	retired_at   BIGINT
);

-- One row. Every save of the set bumps version first: the lock that makes
-- saves of several instances take turns, each checked against the last.
CREATE TABLE signing_key_set (
	id      INTEGER PRIMARY KEY,
	version BIGINT NOT NULL
);

INSERT INTO signing_key_set (id, version) VALUES (1, 0);
