package dbtest

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/audexum/auth/apikey"
	"github.com/audexum/auth/sqlstore"
)

// durabilityChildEnv, when set to a database path, makes
// TestDurabilitySIGKILL the child process: it creates keys in that SQLite
// database until it is killed, printing each key once Create returned.
const durabilityChildEnv = "AUDEXUM_SQLSTORE_DURABILITY_CHILD"

// TestDurabilitySIGKILL: a child process creates keys and is killed with
// SIGKILL right after it reports one; every key whose Create returned is
// in the database afterwards and verifies. The kill lands while the child
// is in the middle of its next transaction, so the reopen also runs
// SQLite's recovery of a torn write-ahead log.
func TestDurabilitySIGKILL(t *testing.T) {
	if path := os.Getenv(durabilityChildEnv); path != "" {
		durabilityChild(path)
		return
	}
	path := t.TempDir() + "/durable.db"
	cmd := exec.Command(os.Args[0], "-test.run=^TestDurabilitySIGKILL$", "-test.count=1")
	cmd.Env = append(os.Environ(), durabilityChildEnv+"="+path)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	const want = 25
	var keys []string
	sc := bufio.NewScanner(out)
	for len(keys) < want && sc.Scan() {
		if k, ok := strings.CutPrefix(sc.Text(), "KEY "); ok {
			keys = append(keys, k)
		}
	}
	// Killed right after the last reported Create returned, with the
	// child already inside the next one.
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	if len(keys) < want {
		t.Fatalf("child reported %d keys before it stopped, want %d", len(keys), want)
	}

	db, err := sql.Open("sqlite", sqlstore.SQLiteDSN(path))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s, err := sqlstore.Open(t.Context(), db, sqlstore.Config{Dialect: sqlstore.SQLite, InsecurePlaintextSigningKeys: true})
	if err != nil {
		t.Fatalf("reopening after SIGKILL: %v", err)
	}
	defer s.Close()
	var check string
	if err := db.QueryRowContext(t.Context(), `PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
		t.Errorf("integrity_check: got %q, %v; want ok", check, err)
	}
	v, err := apikey.NewVerifier(apikey.Config{Store: s.APIKeys(), LastUsedInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	for i, k := range keys {
		if _, err := v.Verify(t.Context(), k); err != nil {
			t.Errorf("key %d of %d, reported created before the kill: Verify: %v", i+1, len(keys), err)
		}
	}
}

// durabilityChild creates keys until killed (or for at most a minute, so
// an orphan does not linger if the parent dies).
func durabilityChild(path string) {
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, "durability child:", err)
		os.Exit(2)
	}
	db, err := sql.Open("sqlite", sqlstore.SQLiteDSN(path))
	if err != nil {
		fail(err)
	}
	ctx := context.Background()
	s, err := sqlstore.Open(ctx, db, sqlstore.Config{Dialect: sqlstore.SQLite, InsecurePlaintextSigningKeys: true})
	if err != nil {
		fail(err)
	}
	m, err := apikey.NewManager(apikey.ManagerConfig{Store: s.APIKeys()})
	if err != nil {
		fail(err)
	}
	stop := time.Now().Add(time.Minute)
	for time.Now().Before(stop) {
		key, _, err := m.Create(ctx, apikey.CreateParams{Name: "durable", Owner: "child"})
		if err != nil {
			fail(err)
		}
		// os.Stdout is unbuffered: the line is in the pipe when the
		// parent can read it.
		fmt.Fprintln(os.Stdout, "KEY "+key)
	}
	os.Exit(3)
}
