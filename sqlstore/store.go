package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Config configures a [Store].
type Config struct {
	// Dialect is the engine behind the *sql.DB. Required.
	Dialect Dialect

	// Now returns the current time, used for the change log and the
	// times of audit events. If nil, [time.Now]. Times in records come
	// from the callers (the managers of the other packages), never from
	// this clock.
	Now func() time.Time

	// PollInterval is how often [Store.Follow] and [Store.Watch] read the
	// change log when no notification wakes them. If zero,
	// [DefaultPollInterval] (1 s): another process's change reaches this
	// process's caches within about that long, also on SQLite, where
	// nothing else can tell.
	PollInterval time.Duration

	// ChangeRetention is how long change-log rows are kept. A watcher
	// that falls further behind than this is told to drop everything
	// ([KindAll]). If zero, [DefaultChangeRetention] (1 h).
	ChangeRetention time.Duration

	// WaitForNotification, if set on PostgreSQL, lets [Store.Watch] use
	// LISTEN/NOTIFY: it must block on the driver connection driverConn
	// (as given by [sql.Conn.Raw]) until a notification arrives, and
	// return nil, or until ctx ends or the connection fails, and return an
	// error. The package imports no driver, so the caller supplies this;
	// with github.com/jackc/pgx/v5/stdlib it is
	//
	//	func(ctx context.Context, c any) error {
	//		_, err := c.(*stdlib.Conn).Conn().WaitForNotification(ctx)
	//		return err
	//	}
	//
	// If nil, Watch polls the change log every PollInterval. Ignored on
	// SQLite.
	WaitForNotification func(ctx context.Context, driverConn any) error

	// KeyEncryptionKey is the AES-256 key ([KeyEncryptionKeySize] bytes)
	// that seals the private signing keys at rest (AES-GCM). Required:
	// [Open] fails without it unless InsecurePlaintextSigningKeys is set.
	// Read it from an environment variable or a file readable only by the
	// server (decoded with [ParseKeyEncryptionKey]), never from a
	// command-line flag, which other users see in ps. Keep
	// it out of the database and its backups: the point is that a copy of
	// the database alone cannot mint tokens. [Open] seals the keys stored
	// in clear (by an older version, or before a key was set) under it,
	// all in one transaction, so from then on the database holds no
	// private key in clear; instances still running without this key can
	// then no longer load the keys, so give it to all of them.
	KeyEncryptionKey []byte

	// InsecurePlaintextSigningKeys lets Open accept a nil
	// KeyEncryptionKey, and the private signing keys are then stored in
	// clear: anyone who can read the database, or a backup of it, can
	// mint tokens, and [Store.SigningKeys] warns through OnWarning. Safe
	// in tests; in a process that never calls [Store.SigningKeys] (one
	// that manages API keys, clients or users only), where no key is
	// read or written; or where the database is guarded as well as a key
	// would be. Keys already sealed stay sealed: loading them without the
	// key fails with [ErrKeyEncryptionKeyRequired]. Ignored when
	// KeyEncryptionKey is set.
	InsecurePlaintextSigningKeys bool

	// PreviousKeyEncryptionKeys are key-encryption keys that signing keys
	// may still be sealed under, for changing KeyEncryptionKey without
	// downtime: set the new key and list the old one here, and the next
	// save of the key set (a rotation) seals every key under the new one.
	// Optional; each must be [KeyEncryptionKeySize] bytes.
	PreviousKeyEncryptionKeys [][]byte

	// OnWarning, if set, receives warnings about insecure settings, such
	// as [ErrUnencryptedSigningKeys]. Print them at startup.
	OnWarning func(error)

	// OnError, if set, receives errors of background work ([Store.Watch]
	// losing its connection, say). Work continues; the package never logs.
	OnError func(error)
}

// Defaults for the zero fields of [Config].
const (
	DefaultPollInterval    = time.Second
	DefaultChangeRetention = time.Hour
)

// Store is a database holding the records of every store interface of the
// toolkit. Create one with [Open]; it is safe for concurrent use. The
// stores of the other packages are views of it: [Store.APIKeys],
// [Store.Clients], [Store.Grants] and [Store.SigningKeys].
//
// The Store does not own the *sql.DB: Close releases what the Store
// prepared, and the caller closes the database.
type Store struct {
	db        *sql.DB
	dialect   Dialect
	now       func() time.Time
	poll      time.Duration
	retention time.Duration
	wait      func(ctx context.Context, driverConn any) error
	onError   func(error)
	onWarning func(error)
	kek       *kek
	oldKEKs   []*kek
	version   int
	warnOnce  sync.Once

	mu     sync.RWMutex
	stmts  map[string]*sql.Stmt
	closed bool
}

// Open checks db's setup, applies the migrations the database lacks (see
// [Migrate]) and returns a Store. With a [Config.KeyEncryptionKey], it
// then seals the signing keys stored in clear, in one transaction. It
// fails with an error wrapping [ErrInvalidConfig] for an unusable cfg
// (one without KeyEncryptionKey or InsecurePlaintextSigningKeys among
// them),
// [ErrConnectionSetup] if a SQLite connection lacks foreign_keys=ON or a
// busy_timeout, [ErrSchemaTooNew] if a newer program migrated the
// database, or the database's error.
func Open(ctx context.Context, db *sql.DB, cfg Config) (*Store, error) {
	if db == nil {
		return nil, fmt.Errorf("%w: nil *sql.DB", ErrInvalidConfig)
	}
	s := &Store{
		db:        db,
		dialect:   cfg.Dialect,
		now:       cfg.Now,
		poll:      cfg.PollInterval,
		retention: cfg.ChangeRetention,
		wait:      cfg.WaitForNotification,
		onError:   cfg.OnError,
		onWarning: cfg.OnWarning,
		stmts:     make(map[string]*sql.Stmt),
	}
	switch s.dialect {
	case SQLite, Postgres:
	default:
		return nil, fmt.Errorf("%w: Dialect must be SQLite or Postgres", ErrInvalidConfig)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if cfg.KeyEncryptionKey == nil && !cfg.InsecurePlaintextSigningKeys {
		// Fail closed: a key left out by mistake would otherwise store
		// the signing keys in clear, with only a warning to tell.
		return nil, fmt.Errorf("%w: KeyEncryptionKey is required to seal the signing keys (or set InsecurePlaintextSigningKeys to store them in clear)", ErrInvalidConfig)
	}
	if cfg.KeyEncryptionKey != nil {
		k, err := newKEK(cfg.KeyEncryptionKey)
		if err != nil {
			return nil, err
		}
		s.kek = k
	}
	if s.kek == nil && len(cfg.PreviousKeyEncryptionKeys) > 0 {
		// Opening old seals and saving in clear would be a downgrade.
		return nil, fmt.Errorf("%w: PreviousKeyEncryptionKeys without KeyEncryptionKey", ErrInvalidConfig)
	}
	for _, key := range cfg.PreviousKeyEncryptionKeys {
		k, err := newKEK(key)
		if err != nil {
			return nil, fmt.Errorf("PreviousKeyEncryptionKeys: %w", err)
		}
		s.oldKEKs = append(s.oldKEKs, k)
	}
	switch {
	case s.poll < 0:
		return nil, fmt.Errorf("%w: negative PollInterval", ErrInvalidConfig)
	case s.poll == 0:
		s.poll = DefaultPollInterval
	}
	switch {
	case s.retention < 0:
		return nil, fmt.Errorf("%w: negative ChangeRetention", ErrInvalidConfig)
	case s.retention == 0:
		s.retention = DefaultChangeRetention
	}
	if s.dialect == SQLite {
		if err := retryBusy(ctx, func() error { return checkSQLite(ctx, db) }); err != nil {
			return nil, err
		}
	}
	var v int
	err := retryBusy(ctx, func() error {
		var err error
		v, err = Migrate(ctx, db, s.dialect)
		return err
	})
	if err != nil {
		return nil, err
	}
	s.version = v
	if s.kek != nil {
		if err := retryBusy(ctx, func() error { return s.sealClearKeys(ctx) }); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// retryBusy runs fn again while it fails with SQLITE_BUSY, for up to
// sqliteBusyTimeout. Connections opening a new database file at once
// meet SQLITE_BUSY while the first converts it to WAL, a lock busy_timeout
// does not wait for; once the file is in WAL mode, it does not happen.
func retryBusy(ctx context.Context, fn func() error) error {
	deadline := time.Now().Add(sqliteBusyTimeout)
	backoff := 5 * time.Millisecond
	for {
		err := fn()
		if err == nil || !isBusy(err) || time.Now().After(deadline) {
			return err
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		backoff = min(2*backoff, 200*time.Millisecond)
	}
}

// isBusy reports whether err is SQLite's SQLITE_BUSY (5), by the error
// code of modernc.org/sqlite (a Code method), or by the text other
// drivers use.
func isBusy(err error) bool {
	var coded interface{ Code() int }
	if errors.As(err, &coded) {
		return coded.Code()&0xff == 5
	}
	return strings.Contains(err.Error(), "database is locked")
}

// Dialect returns the engine the Store was opened for.
func (s *Store) Dialect() Dialect { return s.dialect }

// SchemaVersion returns the schema version of the database after Open's
// migrations.
func (s *Store) SchemaVersion() int { return s.version }

// Close releases the statements the Store prepared. It does not close the
// *sql.DB, nor stop [Store.Watch] (cancel its context). Lookups through
// the Store after Close fail with [ErrClosed].
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	s.closed = true
	var first error
	for _, st := range s.stmts {
		if err := st.Close(); err != nil && first == nil {
			first = err
		}
	}
	clear(s.stmts)
	if first != nil {
		return fmt.Errorf("sqlstore: close: %w", first)
	}
	return nil
}

// stmt returns the prepared form of query, preparing it on first use.
// Statements on the request path are prepared so SQLite parses them once
// per connection instead of on every call (PostgreSQL drivers cache them
// anyway).
func (s *Store) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	// Read-locked on the request path: a write lock here would make
	// concurrent key lookups queue on each other.
	s.mu.RLock()
	st, ok := s.stmts[query]
	closed := s.closed
	s.mu.RUnlock()
	switch {
	case closed:
		return nil, ErrClosed
	case ok:
		return st, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	if st, ok := s.stmts[query]; ok {
		return st, nil
	}
	st, err := s.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	s.stmts[query] = st
	return st, nil
}

// inTx runs fn in a transaction and commits it if fn returns nil.
//
// On SQLite every transaction fn runs must begin with a write, or be
// opened as BEGIN IMMEDIATE (the _txlock=immediate of [SQLiteDSN]): a
// transaction that reads first and writes later cannot wait for a
// concurrent writer (busy_timeout does not apply to that upgrade) and
// fails with SQLITE_BUSY instead. Every fn in this package writes first.
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// Times are stored as integer microseconds since the Unix epoch: the finest
// precision both engines keep exactly in a BIGINT, and the precision the
// managers of the other packages round to, so a record reads back equal to
// what was written. NULL stands for the zero time.

func micros(t time.Time) int64 { return t.UnixMicro() }

func nullMicros(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixMicro(), Valid: true}
}

func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

func fromNullMicros(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return fromMicros(n.Int64)
}

func nullString(s string) sql.NullString {
	return sql.NullString{String: s, Valid: s != ""}
}
