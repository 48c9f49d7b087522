package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
)

// Change is one entry of the change log: the record of this kind with
// this ID changed, and copies cached by other processes are stale.
type Change struct {
	// Seq numbers the changes in the order they were committed. It only
	// grows.
	Seq  int64
	Kind Kind
	ID   string
}

// notifyChannel is the PostgreSQL NOTIFY channel of the change log. The
// payload is the change's seq; listeners read the log itself, so a
// notification is only a wake-up and losing one costs latency, not
// correctness.
const notifyChannel = "audexum_changes"

// changesLockID is the PostgreSQL advisory lock writers of the change log
// take ("audy" in ASCII).
const changesLockID = 0x61756479

// recordChange appends a change to the log in tx. Call it as the last
// statement of a transaction that changed a record other processes may
// cache.
func (s *Store) recordChange(ctx context.Context, tx *sql.Tx, kind Kind, id string) error {
	if s.dialect == Postgres {
		// Sequence numbers are handed out at INSERT, not at COMMIT, so
		// without this two writers could commit out of order and a reader
		// that saw seq 8 would never look back for seq 7. Taken last in
		// the transaction, after the row locks, and held only until the
		// commit, so change-log writers queue in commit order and cannot
		// deadlock on it. Writers on SQLite already take turns.
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(changesLockID)); err != nil {
			return err
		}
	}
	now := s.now()
	var seq int64
	if err := tx.QueryRowContext(ctx, `INSERT INTO changes (kind, id, at) VALUES ($1, $2, $3) RETURNING seq`,
		string(kind), id, micros(now)).Scan(&seq); err != nil {
		return err
	}
	// Pruning here keeps the log short without a janitor; the newest row
	// always stays, so the sequence can be read back.
	if _, err := tx.ExecContext(ctx, `DELETE FROM changes WHERE seq < $1 AND at < $2`,
		seq, micros(now.Add(-s.retention))); err != nil {
		return err
	}
	if s.dialect == Postgres {
		// Delivered when the transaction commits, and never if it rolls
		// back.
		if _, err := tx.ExecContext(ctx, `SELECT pg_notify($1, $2)`, notifyChannel, strconv.FormatInt(seq, 10)); err != nil {
			return err
		}
	}
	return nil
}

// LatestChange returns the Seq of the newest change, or 0 if there has
// been none. It is one indexed read: a process can poll it cheaply to learn
// whether anything changed since it last looked.
func (s *Store) LatestChange(ctx context.Context) (int64, error) {
	var seq int64
	if err := s.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM changes`).Scan(&seq); err != nil {
		return 0, fmt.Errorf("sqlstore: latest change: %w", err)
	}
	return seq, nil
}

// Changes returns up to limit changes with a Seq above after, oldest
// first.
func (s *Store) Changes(ctx context.Context, after int64, limit int) ([]Change, error) {
	if limit <= 0 {
		return nil, nil
	}
	st, err := s.stmt(ctx, `SELECT seq, kind, id FROM changes WHERE seq > $1 ORDER BY seq LIMIT $2`)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: read changes: %w", err)
	}
	rows, err := st.QueryContext(ctx, after, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: read changes: %w", err)
	}
	defer rows.Close()
	var out []Change
	for rows.Next() {
		var c Change
		var kind string
		if err := rows.Scan(&c.Seq, &kind, &c.ID); err != nil {
			return nil, fmt.Errorf("sqlstore: read changes: %w", err)
		}
		c.Kind = Kind(kind)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: read changes: %w", err)
	}
	return out, nil
}
