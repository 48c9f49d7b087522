package dbtest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/audexum/auth"
	"github.com/audexum/auth/apikey"
	"github.com/audexum/auth/sqlstore"
)

// revokeChildEnv, when set to "path|keyID", makes
// TestCrossProcessRevocationSQLite the child: it revokes the key in that
// SQLite database and exits, as the CLI does.
const revokeChildEnv = "AUDEXUM_SQLSTORE_REVOKE_CHILD"

// TestCrossProcessRevocationSQLite: a server process caches a key; another
// process (the CLI) revokes it in the same SQLite file; the server's
// watcher sees the change counter move and evicts the key within about a
// poll interval, though the verifier would have cached it for an hour.
func TestCrossProcessRevocationSQLite(t *testing.T) {
	if arg := os.Getenv(revokeChildEnv); arg != "" {
		revokeChild(arg)
		return
	}
	db := sqliteDB(t)
	s := openStoreCfg(t, db.open(t), sqlstore.Config{Dialect: sqlstore.SQLite, InsecurePlaintextSigningKeys: true, PollInterval: 50 * time.Millisecond})
	m, err := apikey.NewManager(apikey.ManagerConfig{Store: s.APIKeys()})
	if err != nil {
		t.Fatal(err)
	}
	key, rec, err := m.Create(t.Context(), apikey.CreateParams{Name: "k", Owner: "o"})
	if err != nil {
		t.Fatal(err)
	}
	v, err := apikey.NewVerifier(apikey.Config{Store: s.APIKeys(), CacheTTL: time.Hour, LastUsedInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	watch(t, s, invalidateAPIKeys(v))
	if _, err := v.Verify(t.Context(), key); err != nil {
		t.Fatalf("Verify before revocation: %v", err)
	}

	cmd := exec.Command(os.Args[0], "-test.run=^TestCrossProcessRevocationSQLite$", "-test.count=1")
	cmd.Env = append(os.Environ(), revokeChildEnv+"="+db.path+"|"+rec.ID)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("revoking process: %v\n%s", err, out)
	}
	revoked := time.Now()
	for {
		_, err := v.Verify(t.Context(), key)
		if errors.Is(err, auth.ErrRevoked) {
			break
		}
		if time.Since(revoked) > 5*time.Second {
			t.Fatalf("key revoked by another process still accepted after 5 s: Verify got %v", err)
		}
		time.Sleep(10 * time.Millisecond) // polling with a deadline
	}
	t.Logf("revocation by another process took effect after %v", time.Since(revoked).Round(time.Millisecond))
}

func revokeChild(arg string) {
	path, id, _ := strings.Cut(arg, "|")
	err := func() error {
		db, err := sql.Open("sqlite", sqlstore.SQLiteDSN(path))
		if err != nil {
			return err
		}
		defer db.Close()
		s, err := sqlstore.Open(context.Background(), db, sqlstore.Config{Dialect: sqlstore.SQLite, InsecurePlaintextSigningKeys: true})
		if err != nil {
			return err
		}
		defer s.Close()
		m, err := apikey.NewManager(apikey.ManagerConfig{Store: s.APIKeys()})
		if err != nil {
			return err
		}
		return m.Revoke(context.Background(), id, "revoked from the CLI")
	}()
	if err != nil {
		fmt.Fprintln(os.Stderr, "revoking child:", err)
		os.Exit(2)
	}
	os.Exit(0)
}
