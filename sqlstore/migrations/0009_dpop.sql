-- DPoP, sender-constrained tokens (RFC 9449; package dpop and the oauth
-- Server's Config.DPoP). Conventions as in 0001.

-- Client.RequireDPoP: 1 when every token request of the client must carry
-- a DPoP proof.
ALTER TABLE oauth_clients ADD COLUMN require_dpop INTEGER NOT NULL DEFAULT 0;

-- Code.DPoPJKT: the authorization request's dpop_jkt, the thumbprint of
-- the key whose proof must come with the redemption; '' for none.
ALTER TABLE oauth_codes ADD COLUMN dpop_jkt TEXT {{bin}} NOT NULL DEFAULT '';

-- Grant.DPoPJKT: the key a public client's refresh tokens are bound to;
-- '' for none.
ALTER TABLE oauth_grants ADD COLUMN dpop_jkt TEXT {{bin}} NOT NULL DEFAULT '';

-- Proofs accepted (Store.DPoPReplay), so a fleet accepts each once: id is
-- the SHA-256 of the proof key's thumbprint and the proof's jti. A row
-- whose expiry has passed may be claimed again (the proof's iat no longer
-- passes by then) and is swept in bounded batches.
CREATE TABLE dpop_proofs (
	id         {{bytes}} PRIMARY KEY,
	expires_at BIGINT NOT NULL
);

CREATE INDEX dpop_proofs_by_expiry ON dpop_proofs (expires_at);
