package main

import (
	"database/sql"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/audexum/auth/sqlstore"
)

// TestCreateDatabaseRace: processes starting at once on a fresh directory
// end up with one whole database, and no temporary file is left.
func TestCreateDatabaseRace(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "audexum.db")
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if err := createDatabase(t.Context(), name); err != nil {
				t.Errorf("createDatabase: %v", err)
			}
		})
	}
	wg.Wait()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 1 || ents[0].Name() != "audexum.db" {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Errorf("directory holds %v, want only audexum.db", names)
	}
	fi, err := os.Stat(name)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("database mode %04o, want 0600", perm)
	}
	db, err := sql.Open("sqlite", sqlstore.SQLiteDSN(name))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s, err := sqlstore.Open(t.Context(), db, sqlstore.Config{Dialect: sqlstore.SQLite, InsecurePlaintextSigningKeys: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got, want := s.SchemaVersion(), sqlstore.SchemaVersion(); got != want {
		t.Errorf("schema version %d, want %d", got, want)
	}
}
