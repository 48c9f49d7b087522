package sqlstore

// Kind says what sort of record an [AuditEvent] or a [Change] is about.
// The audit trail and the change log share it, so a record has one name
// in both.
type Kind string

// The kinds of record the audit trail and the change log follow.
const (
	// KindAPIKey: an API key. In the change log: created, revoked or
	// rotated (a rotation records the old key and the new one); ID is the
	// key ID.
	KindAPIKey Kind = "api_key"
	// KindClient: an OAuth 2.0 client. In the change log: created or
	// deleted, or its secrets changed; ID is the client ID.
	KindClient Kind = "oauth_client"
	// KindUser: an end user (an account). Audited; not on the change log.
	KindUser Kind = "user"
	// KindSigningKey: the key that signs access tokens. In the change log:
	// the signing key set was saved (a rotation, or the first keys); ID is
	// empty. Reload the jwt.KeyManager.
	KindSigningKey Kind = "signing_key"
	// KindAll, only in the change log: changes may have been missed (the
	// watcher fell behind the log's retention, or could not read it for a
	// while). Drop every cached record. ID is empty.
	KindAll Kind = "*"
)
