-- Settings every instance on the database must agree on (Store.ClaimIssuer):
-- the first instance records them, later ones compare. Conventions as in 0001.
CREATE TABLE server_settings (
	name  TEXT {{bin}} PRIMARY KEY,
	value TEXT NOT NULL
);
