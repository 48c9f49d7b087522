package dbtest

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/audexum/auth/apikey"
	"github.com/audexum/auth/sqlstore"
)

// countingConnector wraps a driver connector and counts every call that
// reaches the driver: prepares, queries, execs and transactions, on
// connections and on prepared statements.
type countingConnector struct {
	inner driver.Connector
	n     *atomic.Int64
}

func (c countingConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.inner.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: conn, n: c.n}, nil
}

func (c countingConnector) Driver() driver.Driver { return c.inner.Driver() }

type countingConn struct {
	driver.Conn
	n *atomic.Int64
}

func (c *countingConn) Prepare(q string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), q)
}

func (c *countingConn) PrepareContext(ctx context.Context, q string) (driver.Stmt, error) {
	c.n.Add(1)
	var st driver.Stmt
	var err error
	if p, ok := c.Conn.(driver.ConnPrepareContext); ok {
		st, err = p.PrepareContext(ctx, q)
	} else {
		st, err = c.Conn.Prepare(q)
	}
	if err != nil {
		return nil, err
	}
	return &countingStmt{Stmt: st, n: c.n}, nil
}

func (c *countingConn) QueryContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	qc, ok := c.Conn.(driver.QueryerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	c.n.Add(1)
	return qc.QueryContext(ctx, q, args)
}

func (c *countingConn) ExecContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	ec, ok := c.Conn.(driver.ExecerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	c.n.Add(1)
	return ec.ExecContext(ctx, q, args)
}

func (c *countingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	c.n.Add(1)
	b, ok := c.Conn.(driver.ConnBeginTx)
	if !ok {
		return nil, errors.New("counting driver: the wrapped driver lacks BeginTx")
	}
	return b.BeginTx(ctx, opts)
}

func (c *countingConn) ResetSession(ctx context.Context) error {
	if r, ok := c.Conn.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

func (c *countingConn) CheckNamedValue(nv *driver.NamedValue) error {
	if cv, ok := c.Conn.(driver.NamedValueChecker); ok {
		return cv.CheckNamedValue(nv)
	}
	return driver.ErrSkip
}

type countingStmt struct {
	driver.Stmt
	n *atomic.Int64
}

func (s *countingStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	s.n.Add(1)
	if q, ok := s.Stmt.(driver.StmtQueryContext); ok {
		return q.QueryContext(ctx, args)
	}
	return nil, driver.ErrSkip
}

func (s *countingStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	s.n.Add(1)
	if e, ok := s.Stmt.(driver.StmtExecContext); ok {
		return e.ExecContext(ctx, args)
	}
	return nil, driver.ErrSkip
}

// countedDB opens a new handle on db whose every driver call adds to n.
func countedDB(t testing.TB, db testDB, n *atomic.Int64) *sql.DB {
	t.Helper()
	drv := db.open(t).Driver()
	dsn := db.dsn
	if db.dialect == sqlstore.Postgres {
		dsn = stdlibDSN(t, db)
	}
	var conn driver.Connector = dsnConnector{drv, dsn}
	if dc, ok := drv.(driver.DriverContext); ok {
		var err error
		if conn, err = dc.OpenConnector(dsn); err != nil {
			t.Fatal(err)
		}
	}
	h := sql.OpenDB(countingConnector{inner: conn, n: n})
	t.Cleanup(func() { h.Close() })
	return h
}

// dsnConnector is the connector of a driver that has none of its own.
type dsnConnector struct {
	drv driver.Driver
	dsn string
}

func (c dsnConnector) Connect(context.Context) (driver.Conn, error) { return c.drv.Open(c.dsn) }
func (c dsnConnector) Driver() driver.Driver                        { return c.drv }

// TestCacheHitTouchesNoDatabase: once a key is cached, verifying it again
// reaches the database not once, not even through a prepared statement;
// nor does an unknown key the negative cache remembers.
func TestCacheHitTouchesNoDatabase(t *testing.T) {
	engines(t, func(t *testing.T, db testDB) {
		var n atomic.Int64
		s := openStoreOn(t, countedDB(t, db, &n), db.dialect)
		m, err := apikey.NewManager(apikey.ManagerConfig{Store: s.APIKeys()})
		if err != nil {
			t.Fatal(err)
		}
		key, _, err := m.Create(t.Context(), apikey.CreateParams{Name: "k", Owner: "o"})
		if err != nil {
			t.Fatal(err)
		}
		unknown, _, err := m.Create(t.Context(), apikey.CreateParams{Name: "u", Owner: "o"})
		if err != nil {
			t.Fatal(err)
		}
		unknownID, _ := apikey.Parse(unknown)
		if _, err := s.APIKeys().ListKeys(t.Context(), apikey.Filter{}); err != nil {
			t.Fatal(err)
		}
		// Make "unknown" unknown: delete its row behind the store's back.
		if _, err := db.open(t).ExecContext(t.Context(), `DELETE FROM api_keys WHERE id = $1`, unknownID.ID); err != nil {
			t.Fatal(err)
		}

		v, err := apikey.NewVerifier(apikey.Config{Store: s.APIKeys(), CacheTTL: time.Hour,
			NegativeCacheTTL: time.Hour, LastUsedInterval: -1})
		if err != nil {
			t.Fatal(err)
		}
		defer v.Close()
		before := n.Load()
		if _, err := v.Verify(t.Context(), key); err != nil {
			t.Fatalf("first Verify: %v", err)
		}
		v.Verify(t.Context(), unknown)
		if n.Load() == before {
			t.Fatal("the cache misses did not reach the database: the counter does not count")
		}
		before = n.Load()
		for range 1000 {
			if _, err := v.Verify(t.Context(), key); err != nil {
				t.Fatalf("cached Verify: %v", err)
			}
			v.Verify(t.Context(), unknown)
		}
		if got := n.Load() - before; got != 0 {
			t.Errorf("2000 cache hits made %d database calls, want 0", got)
		}
	})
}
