package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/audexum/auth"
)

// AuditAction is what happened to the record.
type AuditAction string

// The lifecycle actions the audit trail records.
const (
	// ActionCreated: the record was created (for an API key, also the new
	// key of a rotation, with RotatedFrom set).
	ActionCreated AuditAction = "created"
	// ActionRotated: an API key was replaced by a new one (RotatedTo);
	// it keeps working until OldValidUntil. For a signing key: it became
	// the key that signs, replacing RotatedFrom.
	ActionRotated AuditAction = "rotated"
	// ActionRevoked: an API key was revoked (Reason).
	ActionRevoked AuditAction = "revoked"
	// ActionDeleted: an OAuth client was deleted.
	ActionDeleted AuditAction = "deleted"
	// ActionSecretRotated: an OAuth client got a new secret; the old ones
	// keep working until OldValidUntil.
	ActionSecretRotated AuditAction = "secret_rotated"
	// ActionPasswordChanged: a user's password was changed (the username
	// is the Name).
	ActionPasswordChanged AuditAction = "password_changed"
)

// AuditDetails are the non-secret facts of an [AuditEvent], stored as a
// JSON object. It has no field that could hold a key, a secret or a hash,
// so none can reach the trail by mistake. Empty fields are left out.
type AuditDetails struct {
	Name string `json:"name,omitempty"`
	// Owner is the owner of the API key or client: an account ID (a
	// user's), or for a key made before accounts, the label it acts as.
	// Every lifecycle event of a key or an owned client carries it, so an
	// account's activity can be found in the trail.
	Owner        string     `json:"owner,omitempty"`
	Type         string     `json:"type,omitempty"`
	Scopes       []string   `json:"scopes,omitempty"`
	RedirectURIs []string   `json:"redirect_uris,omitempty"`
	GrantTypes   []string   `json:"grant_types,omitempty"`
	ExpiresAt    *time.Time `json:"expires_at,omitempty"`
	// RotatedTo is the ID of the key that replaced this one.
	RotatedTo string `json:"rotated_to,omitempty"`
	// RotatedFrom is the ID of the key this one replaced.
	RotatedFrom string `json:"rotated_from,omitempty"`
	// OldValidUntil is when the replaced key or secrets stop working.
	OldValidUntil *time.Time `json:"old_valid_until,omitempty"`
	// Reason is the revocation reason the operator gave.
	Reason string `json:"reason,omitempty"`
	// RequireDPoP is a created client's RequireDPoP, when set.
	RequireDPoP bool `json:"require_dpop,omitempty"`
}

// AuditEvent is one lifecycle action of the audit trail.
type AuditEvent struct {
	// Seq numbers the events in the order they were written.
	Seq       int64
	At        time.Time
	Kind      Kind
	Action    AuditAction
	SubjectID string
	// Actor is who did it, as the caller said with [WithActor]
	// ("cli:alice"), or "unknown".
	Actor   string
	Details AuditDetails
}

// FailureCount is the number of failed authentications in one minute for
// one key ID (or "unknown") and reason.
type FailureCount struct {
	// Minute is the start of the minute, UTC.
	Minute time.Time
	KeyID  string
	Reason string
	Count  int64
}

// UnknownKeyID is the KeyID of failures not attributed to a key known to
// exist. Exported for the two sides of the audit trail: the failure hook
// of a server passes it to [FailureRecorder.Record] for a credential
// that names no stored key (cmd/audexum's does), and a reader of
// [AuditLog.Failures] tells those rows from a key's by it.
const UnknownKeyID = "unknown"

// UnknownActor is the actor of changes whose context names none: what
// [ActorFrom] returns then, and what [AuditEvent.Actor] holds. Exported
// for readers of the audit trail that single out changes no one was
// named for (work done by a server itself, such as its first signing
// key, or code that forgot [WithActor]).
const UnknownActor = "unknown"

type actorKey struct{}

// WithActor returns a context that names who makes the changes done with
// it: the audit rows the Store writes for them carry actor. Use a prefix
// that says where it came from ("cli:alice", "admin-api:bob").
func WithActor(ctx context.Context, actor string) context.Context {
	return context.WithValue(ctx, actorKey{}, actor)
}

// ActorFrom returns the actor [WithActor] put in ctx, or [UnknownActor].
func ActorFrom(ctx context.Context) string {
	if a, ok := ctx.Value(actorKey{}).(string); ok && a != "" {
		return a
	}
	return UnknownActor
}

// maxActor bounds the stored actor.
const maxActor = 200

// cleanActor makes actor storable text of bounded length.
func cleanActor(actor string) string {
	if !storable(actor) {
		actor = strings.ReplaceAll(strings.ToValidUTF8(actor, "?"), "\x00", "?")
	}
	if len(actor) > maxActor {
		actor = strings.ToValidUTF8(actor[:maxActor], "")
	}
	if actor == "" {
		return UnknownActor
	}
	return actor
}

// AuditLog is the audit trail of a [Store]: tables audit_events and
// audit_failures. Get it from [Store.AuditLog]; it is safe for concurrent
// use.
//
// The Store records the lifecycle of API keys and OAuth clients itself,
// in the transaction of each change ([APIKeys.CreateKey], Revoke and
// Rotate; [Clients.CreateClient], RotateClientSecret and
// DeleteClient), with the actor of the change's context ([WithActor]), so
// no change commits without its row. Changes made outside the Store (the
// users of cmd/audexum) record theirs with [AuditLog.RecordTx] in their own
// transaction. Failed authentications are counted per minute by a
// [FailureRecorder].
type AuditLog struct{ s *Store }

// AuditLog returns the audit trail of the Store.
func (s *Store) AuditLog() *AuditLog { return &AuditLog{s: s} }

// RecordTx writes e as part of the caller's transaction tx (on the
// Store's database), so the change and its audit row commit or roll back
// together. A zero At is the Store's clock; an empty Actor is the actor of
// ctx. Seq is ignored.
func (a *AuditLog) RecordTx(ctx context.Context, tx *sql.Tx, e AuditEvent) error {
	if e.At.IsZero() {
		e.At = a.s.now()
	}
	if e.Actor == "" {
		e.Actor = ActorFrom(ctx)
	}
	if e.Kind == "" || e.Action == "" {
		return fmt.Errorf("%w: audit event without kind or action", ErrInvalidConfig)
	}
	details, err := json.Marshal(e.Details)
	if err != nil {
		return fmt.Errorf("sqlstore: audit details: %w", err)
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO audit_events (at, kind, action, subject_id, actor, details)
VALUES ($1, $2, $3, $4, $5, $6)`, micros(e.At), string(e.Kind), string(e.Action),
		strings.ToValidUTF8(e.SubjectID, "?"), cleanActor(e.Actor), string(details))
	if err != nil {
		return fmt.Errorf("sqlstore: record audit event: %w", err)
	}
	return nil
}

// Record writes e in a transaction of its own; see [AuditLog.RecordTx].
func (a *AuditLog) Record(ctx context.Context, e AuditEvent) error {
	return a.s.inTx(ctx, func(tx *sql.Tx) error { return a.RecordTx(ctx, tx, e) })
}

// record is the Store's own audit row for a change it makes in tx.
func (s *Store) record(ctx context.Context, tx *sql.Tx, kind Kind, action AuditAction, id string, d AuditDetails) error {
	return s.AuditLog().RecordTx(ctx, tx, AuditEvent{Kind: kind, Action: action, SubjectID: id, Details: d})
}

func scopeList(sc auth.Scopes) []string {
	if sc.Len() == 0 {
		return nil
	}
	return sc.Slice()
}

func timeRef(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

// Events returns the lifecycle events at or after since, oldest first.
func (a *AuditLog) Events(ctx context.Context, since time.Time) ([]AuditEvent, error) {
	rows, err := a.s.db.QueryContext(ctx, `SELECT seq, at, kind, action, subject_id, actor, details
FROM audit_events WHERE at >= $1 ORDER BY at, seq`, micros(since))
	if err != nil {
		return nil, fmt.Errorf("sqlstore: audit events: %w", err)
	}
	defer rows.Close()
	var out []AuditEvent
	for rows.Next() {
		var (
			e            AuditEvent
			at           int64
			kind, action string
			details      string
		)
		if err := rows.Scan(&e.Seq, &at, &kind, &action, &e.SubjectID, &e.Actor, &details); err != nil {
			return nil, fmt.Errorf("sqlstore: audit events: %w", err)
		}
		if err := json.Unmarshal([]byte(details), &e.Details); err != nil {
			return nil, fmt.Errorf("%w: audit event %d: %w", ErrCorruptRecord, e.Seq, err)
		}
		e.At, e.Kind, e.Action = fromMicros(at), Kind(kind), AuditAction(action)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: audit events: %w", err)
	}
	return out, nil
}

// Failures returns the failure counts of the minutes starting at or after
// since truncated to the minute, ordered by minute, key ID and reason.
func (a *AuditLog) Failures(ctx context.Context, since time.Time) ([]FailureCount, error) {
	rows, err := a.s.db.QueryContext(ctx, `SELECT minute, key_id, reason, n FROM audit_failures
WHERE minute >= $1 ORDER BY minute, key_id, reason`, micros(since.Truncate(time.Minute)))
	if err != nil {
		return nil, fmt.Errorf("sqlstore: audit failures: %w", err)
	}
	defer rows.Close()
	var out []FailureCount
	for rows.Next() {
		var (
			f      FailureCount
			minute int64
		)
		if err := rows.Scan(&minute, &f.KeyID, &f.Reason, &f.Count); err != nil {
			return nil, fmt.Errorf("sqlstore: audit failures: %w", err)
		}
		f.Minute = fromMicros(minute)
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: audit failures: %w", err)
	}
	return out, nil
}

// failureChunk bounds the rows of one upsert statement (4 parameters
// each), well under both engines' parameter limits.
const failureChunk = 200

// AddFailures adds counts to the per-minute failure counts, in one
// transaction: each (minute, key ID, reason) is one row whose count
// grows, however many failures and flushes it takes. Minutes are
// truncated; counts for the same row are summed first; counts ≤ 0 are
// ignored. Key IDs and reasons must come from bounded sets (see
// [FailureRecorder]): every distinct pair per minute is a row.
func (a *AuditLog) AddFailures(ctx context.Context, counts []FailureCount) error {
	type rowKey struct {
		minute        int64
		keyID, reason string
	}
	sum := make(map[rowKey]int64)
	for _, c := range counts {
		if c.Count <= 0 {
			continue
		}
		k := rowKey{micros(c.Minute.Truncate(time.Minute)), c.KeyID, c.Reason}
		if !storable(k.keyID) {
			k.keyID = UnknownKeyID
		}
		if !storable(k.reason) {
			k.reason = "other"
		}
		sum[k] += c.Count
	}
	if len(sum) == 0 {
		return nil
	}
	keys := make([]rowKey, 0, len(sum))
	for k := range sum {
		keys = append(keys, k)
	}
	// Sorted, so two processes flushing overlapping rows lock them in the
	// same order and cannot deadlock.
	slices.SortFunc(keys, func(x, y rowKey) int {
		if c := x.minute - y.minute; c != 0 {
			if c < 0 {
				return -1
			}
			return 1
		}
		if c := strings.Compare(x.keyID, y.keyID); c != 0 {
			return c
		}
		return strings.Compare(x.reason, y.reason)
	})
	err := a.s.inTx(ctx, func(tx *sql.Tx) error {
		for chunk := range slices.Chunk(keys, failureChunk) {
			var q strings.Builder
			q.WriteString(`INSERT INTO audit_failures (minute, key_id, reason, n) VALUES `)
			args := make([]any, 0, 4*len(chunk))
			for i, k := range chunk {
				if i > 0 {
					q.WriteString(", ")
				}
				args = append(args, k.minute, k.keyID, k.reason, sum[k])
				n := len(args)
				q.WriteString("($" + strconv.Itoa(n-3) + ", $" + strconv.Itoa(n-2) + ", $" + strconv.Itoa(n-1) + ", $" + strconv.Itoa(n) + ")")
			}
			q.WriteString(` ON CONFLICT (minute, key_id, reason) DO UPDATE SET n = audit_failures.n + excluded.n`)
			if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlstore: add failure counts: %w", err)
	}
	return nil
}

// pruneBatch bounds the rows one PruneFailures deletes.
const pruneBatch = 1000

// PruneFailures deletes up to 1000 failure counts of minutes before
// before, and returns how many it deleted. A [FailureRecorder] calls it
// after each flush with its Retention. Lifecycle events are never
// pruned: they are few, and the point of an audit trail.
func (a *AuditLog) PruneFailures(ctx context.Context, before time.Time) (int, error) {
	q := `DELETE FROM audit_failures WHERE (minute, key_id, reason) IN (SELECT minute, key_id, reason
FROM audit_failures WHERE minute < $1 LIMIT ` + strconv.Itoa(pruneBatch)
	if a.s.dialect == Postgres {
		// Never waits for a flush holding the same rows.
		q += ` FOR UPDATE SKIP LOCKED`
	}
	res, err := a.s.db.ExecContext(ctx, q+`)`, micros(before))
	if err != nil {
		return 0, fmt.Errorf("sqlstore: prune failure counts: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("sqlstore: prune failure counts: %w", err)
	}
	return int(n), nil
}
