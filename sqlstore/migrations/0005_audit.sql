-- The audit trail (Store.Audit): lifecycle events of keys, clients and
-- users, and per-minute counts of failed authentications. Conventions as
-- in 0001.

-- One row per lifecycle action, written in the transaction of the change
-- itself where the store makes the change, so no action commits without
-- its row. details is a JSON object of non-secret fields (AuditDetails):
-- never a key, a secret or a hash.
CREATE TABLE audit_events (
	seq        {{serial}},
	at         BIGINT NOT NULL,
	kind       TEXT NOT NULL,
	action     TEXT NOT NULL,
	subject_id TEXT {{bin}} NOT NULL,
	actor      TEXT NOT NULL,
	details    TEXT NOT NULL
);

CREATE INDEX audit_events_by_at ON audit_events (at, seq);

-- Failed authentications counted per minute (start of the minute), key ID
-- (only for keys known to exist; 'unknown' otherwise) and reason (from a
-- fixed set): flushes add to the count, never a row per failure.
CREATE TABLE audit_failures (
	minute BIGINT NOT NULL,
	key_id TEXT {{bin}} NOT NULL,
	reason TEXT NOT NULL,
	n      BIGINT NOT NULL,
	PRIMARY KEY (minute, key_id, reason)
);
