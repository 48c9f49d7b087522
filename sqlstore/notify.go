package sqlstore

import (
	"context"
	"database/sql/driver"
	"fmt"
	"time"
)

// watchBatch is how many changes Watch reads per query.
const watchBatch = 1000

// Watch calls fn for every change with a Seq above from, in order,
// until ctx ends; then it returns ctx.Err(). Read from with
// [Store.LatestChange] when the process starts, before its caches fill,
// so that no change between the two is missed. Run Watch in a goroutine
// of its own, one per process, and evict what fn names from the caches
// (for an API key, call Invalidate(c.ID) of the process's
// apikey.Verifier; for [KindAll], InvalidateAll). A change made by any
// process sharing the database
// then reaches this one within about [Config.PollInterval]
// (1 s), on SQLite as on PostgreSQL; with [Config.WaitForNotification] on
// PostgreSQL, within milliseconds. The verifier's cache TTL stays the
// bound if the database cannot be read for a while.
//
// Watch reads the change log, so nothing is missed between wake-ups: a
// lost notification only delays a change to the next poll. When the log
// may have lost changes for this watcher (it fell behind the log's
// retention), fn receives a Change of [KindAll]. Errors reading the
// database go to [Config.OnError] and Watch keeps trying.
//
// fn is called from Watch's goroutine, one change at a time. To keep the
// caches of the toolkit's verifiers current, [Store.Follow] does all of
// this for you.
func (s *Store) Watch(ctx context.Context, from int64, fn func(Change)) error {
	return s.watch(ctx, from, fn, nil)
}

// watch is Watch, calling idle (if not nil) after each read of the log.
func (s *Store) watch(ctx context.Context, from int64, fn func(Change), idle func()) error {
	cursor := max(from, 0)
	wake := make(chan struct{}, 1)
	if s.dialect == Postgres && s.wait != nil {
		done := make(chan struct{})
		defer func() { <-done }()
		lctx, cancel := context.WithCancel(ctx)
		defer cancel()
		go func() {
			defer close(done)
			s.listen(lctx, wake)
		}()
	}
	t := time.NewTicker(s.poll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		case <-wake:
		}
		cursor = s.deliver(ctx, cursor, fn)
		if idle != nil {
			idle()
		}
	}
}

// deliver hands fn the changes after cursor and returns the new cursor.
func (s *Store) deliver(ctx context.Context, cursor int64, fn func(Change)) int64 {
	for {
		cs, err := s.Changes(ctx, cursor, watchBatch)
		if err != nil {
			s.report(err)
			return cursor
		}
		if len(cs) > 0 && cs[0].Seq != cursor+1 {
			// Rows between were pruned (or, on PostgreSQL, a sequence
			// number was skipped by a rollback or a crash): whatever they
			// said is unknown.
			fn(Change{Seq: cs[0].Seq - 1, Kind: KindAll})
		}
		for _, c := range cs {
			fn(c)
			cursor = c.Seq
		}
		if len(cs) < watchBatch {
			return cursor
		}
	}
}

func (s *Store) report(err error) {
	if s.onError != nil && err != nil {
		s.onError(err)
	}
}

// listen keeps a connection LISTENing on the change channel and nudges
// wake on every notification, reconnecting with backoff when the
// connection fails, until ctx ends.
func (s *Store) listen(ctx context.Context, wake chan<- struct{}) {
	const minBackoff, maxBackoff = 100 * time.Millisecond, 5 * time.Second
	backoff := minBackoff
	for {
		listening, err := s.listenOnce(ctx, wake)
		if ctx.Err() != nil {
			return
		}
		s.report(fmt.Errorf("sqlstore: listening for changes: %w", err))
		if listening {
			backoff = minBackoff
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// listenOnce LISTENs on one connection until it fails or ctx ends, and
// reports whether LISTEN succeeded.
func (s *Store) listenOnce(ctx context.Context, wake chan<- struct{}) (listening bool, err error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return false, err
	}
	defer func() {
		// Never back to the pool: a connection still LISTENing would
		// collect notifications nobody reads.
		conn.Raw(func(any) error { return driver.ErrBadConn })
		conn.Close()
	}()
	if _, err := conn.ExecContext(ctx, `LISTEN `+notifyChannel); err != nil {
		return false, err
	}
	// Changes committed while no connection listened were not
	// announced: read the log once now.
	nudge(wake)
	for {
		err := conn.Raw(func(dc any) error { return s.wait(ctx, dc) })
		if err != nil {
			return true, err
		}
		nudge(wake)
	}
}

// nudge wakes the watcher without blocking; one pending wake-up is
// enough, as it reads everything new.
func nudge(wake chan<- struct{}) {
	select {
	case wake <- struct{}{}:
	default:
	}
}
