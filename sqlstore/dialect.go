package sqlstore

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Dialect names the database engine behind the *sql.DB given to [Open].
// The package imports no driver: the caller opens the database with the
// driver of its choice and says which engine it is.
type Dialect int

// The supported engines. The zero Dialect is not one of them, so a Config
// that forgets to name the engine is refused.
const (
	// SQLite is the embedded default, for one machine (the pure-Go driver
	// modernc.org/sqlite is the tested one). Open the database with a DSN
	// from [SQLiteDSN].
	SQLite Dialect = iota + 1
	// Postgres is PostgreSQL (13 or later; the driver
	// github.com/jackc/pgx/v5/stdlib is the tested one), for several
	// instances sharing one database.
	Postgres
)

// String returns "sqlite", "postgres" or "Dialect(n)".
func (d Dialect) String() string {
	switch d {
	case SQLite:
		return "sqlite"
	case Postgres:
		return "postgres"
	}
	return fmt.Sprintf("Dialect(%d)", int(d))
}

// schemaWords returns the replacer for the only places where the one
// schema is spelled differently for the two engines. Everything else in
// migrations/*.sql is SQL both accept.
func schemaWords(d Dialect) *strings.Replacer {
	if d == Postgres {
		return strings.NewReplacer(
			"{{bytes}}", "BYTEA",
			// "C" compares bytes. Equality would be exact under any
			// deterministic collation, but ordering would follow the
			// locale ("a" < "B"), unlike the memory stores.
			"{{bin}}", `COLLATE "C"`,
			"{{serial}}", "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
		)
	}
	return strings.NewReplacer(
		// Raw bytes (hashes, encrypted keys).
		"{{bytes}}", "BLOB",
		// Byte-wise comparison and ordering of identifiers, so "a" and
		// "A" are different IDs and ORDER BY id agrees with Go's string
		// order. BINARY is SQLite's default; said explicitly anyway.
		"{{bin}}", "COLLATE BINARY",
		// A strictly increasing sequence: AUTOINCREMENT never reuses a
		// number, even after the highest row is deleted.
		"{{serial}}", "INTEGER PRIMARY KEY AUTOINCREMENT",
	)
}

// storable reports whether s is text both engines keep as it is: valid
// UTF-8 without NUL. PostgreSQL refuses anything else in a TEXT column with
// an error, which would turn a lookup of a hostile ID (a client_id from a
// request) into "store unavailable" instead of "not found". No stored row
// can have such an ID, so lookups answer not-found without asking.
func storable(s string) bool {
	return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0
}
